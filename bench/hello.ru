# Hello world for bench/http.sh: one response built at load time and returned for
# every request, so the benchmark measures the server rather than the app.
RESPONSE = [200, { 'Content-Type' => 'text/html', 'Content-Length' => '12' }, ['Hello World!']]

run Proc.new { |_env| RESPONSE }
