# frozen_string_literal: true

require "spec_helper"
require "rack"
require "rack/lint"
require "json"

# The Rack env Piston builds, checked by Rack::Lint of whichever rack this run loaded (2.2 or 3.x)
# and by an app that reports what it saw.
RSpec.describe "the Rack env" do
  ENV_REPORT_APP = lambda do |env|
    input = env["rack.input"]
    body = input ? input.read : nil
    # rack 3.1's Lint wrapper hides rewind; Piston's own input is rewindable under both
    raw_input = input && (input.instance_variable_get(:@input) || input)
    raw_input&.rewind
    seen = {
      "method" => env["REQUEST_METHOD"], "script_name" => env["SCRIPT_NAME"], "path" => env["PATH_INFO"],
      "query" => env["QUERY_STRING"], "server_name" => env["SERVER_NAME"], "server_port" => env["SERVER_PORT"],
      "protocol" => env["SERVER_PROTOCOL"], "remote" => env["REMOTE_ADDR"], "scheme" => env["rack.url_scheme"],
      "content_type" => env["CONTENT_TYPE"], "content_length" => env["CONTENT_LENGTH"],
      "http" => env.select { |k, _| k.start_with?("HTTP_") },
      "body_size" => body&.bytesize, "body_digest" => body && body.sum,
      "body_encoding" => body&.encoding&.to_s, "rewound_again" => raw_input&.read&.bytesize,
      "input_class" => raw_input.class.name, "rack_version" => env["rack.version"],
      "multithread" => env["rack.multithread"], "hijack?" => env["rack.hijack?"],
      "keys_frozen" => env.keys.all?(&:frozen?), "hash_class" => env.class.name,
      "errors" => env["rack.errors"].respond_to?(:puts) && env["rack.errors"].respond_to?(:write),
      "response_finished" => env["rack.response_finished"].class.name,
      "early_hints" => env["rack.early_hints"].respond_to?(:call)
    }
    [200, { "content-type" => "application/json" }, [JSON.generate(seen)]]
  end

  before(:all) { @server = serve(Rack::Lint.new(ENV_REPORT_APP), threads: 4, body_memory: 4096) }
  after(:all) { @server&.stop }

  def report(raw)
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request(raw)
      res = http.read_response
      expect(res.status).to eq(200), "#{res.status}: #{res.body}"
      JSON.parse(res.body)
    end
  end

  it "passes Rack::Lint and describes a GET" do
    seen = report("GET /a/b%20c?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nX-Custom: v\r\n\r\n")
    expect(seen).to include("method" => "GET", "script_name" => "", "path" => "/a/b%20c", "query" => "x=1&y=2",
                            "server_name" => "example.com", "server_port" => "8080", "protocol" => "HTTP/1.1",
                            "remote" => "127.0.0.1", "scheme" => "http", "hash_class" => "Hash",
                            "keys_frozen" => true, "multithread" => true, "hijack?" => true, "errors" => true,
                            "response_finished" => "Array", "early_hints" => true)
    expect(seen["http"]).to include("HTTP_HOST" => "example.com:8080", "HTTP_X_CUSTOM" => "v")
  end

  it "sets rack.version only for rack 2" do
    seen = report("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    if Rack.release.start_with?("2.")
      expect(seen["rack_version"]).to eq([1, 6])
    else
      expect(seen["rack_version"]).to be_nil
    end
  end

  it "takes SERVER_NAME and SERVER_PORT from an IPv6 Host and defaults the port to 80" do
    expect(report("GET / HTTP/1.1\r\nHost: [::1]:9\r\n\r\n")).to include("server_name" => "[::1]", "server_port" => "9")
    expect(report("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n")).to include("server_port" => "80")
  end

  it "takes SERVER_NAME and SERVER_PORT from the listening address when the Host is missing or empty" do
    listening = { "server_name" => "127.0.0.1", "server_port" => @server.port.to_s }
    expect(report("GET / HTTP/1.0\r\n\r\n")).to include(listening.merge("protocol" => "HTTP/1.0"))
    expect(report("GET / HTTP/1.1\r\nHost: \r\n\r\n")).to include(listening)
  end

  it "gives the path of an absolute-form request target" do
    expect(report("GET http://example.org/p?q=1 HTTP/1.1\r\nHost: example.org\r\n\r\n"))
      .to include("path" => "/p", "query" => "q=1")
  end

  it "takes the host from an absolute-form target's authority rather than from Host" do
    seen = report("GET http://user@target.example:8081/p HTTP/1.1\r\nHost: other.example\r\n\r\n")
    expect(seen).to include("server_name" => "target.example", "server_port" => "8081", "path" => "/p")
    expect(seen["http"]).to include("HTTP_HOST" => "target.example:8081")
  end

  it "moves Content-Type and Content-Length out of HTTP_*" do
    seen = report("POST /f HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
    expect(seen).to include("content_type" => "text/plain", "content_length" => "5", "body_size" => 5,
                            "body_encoding" => "ASCII-8BIT", "rewound_again" => 5)
    expect(seen["http"].keys).not_to include("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")
  end

  it "joins repeated headers, cookies with a semicolon" do
    seen = report("GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nAccept: b\r\nCookie: x=1\r\nCookie: y=2\r\n\r\n")
    expect(seen["http"]).to include("HTTP_ACCEPT" => "a, b", "HTTP_COOKIE" => "x=1; y=2")
  end

  it "drops header names with underscores so they cannot pose as dashed ones" do
    seen = report("GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n")
    expect(seen["http"].keys).not_to include("HTTP_X_FORWARDED_FOR")
  end

  it "decodes a chunked body and reports its length" do
    seen = report("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    expect(seen).to include("body_size" => 11, "content_length" => "11")
    expect(seen["http"].keys).not_to include("HTTP_TRANSFER_ENCODING")
  end

  it "spools a large body to a temp file, rewindable, removed after the request" do
    body = Random.new(7).bytes(200_000)
    before = Dir[File.join(Dir.tmpdir, "piston-body-*")]
    seen = report("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: #{body.bytesize}\r\n\r\n#{body}")
    expect(seen).to include("body_size" => body.bytesize, "body_digest" => body.sum, "rewound_again" => body.bytesize,
                            "input_class" => "File")
    # the file goes when the exchange ends, just after the response is handed to the socket
    left = nil
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10 # a loaded machine
    loop do
      left = Dir[File.join(Dir.tmpdir, "piston-body-*")] - before
      break if left.empty? || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.1
    end
    expect(left).to be_empty
  end

  it "answers Expect: 100-continue before the body is sent" do
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
      interim = http.read_response
      expect(interim.status).to eq(100)
      http.request("abc")
      expect(JSON.parse(http.read_response.body)).to include("body_size" => 3)
    end
  end

  it "serves HTTP/1.0 and closes after the response" do
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request("GET /old HTTP/1.0\r\n\r\n")
      res = http.read_response
      expect(JSON.parse(res.body)).to include("protocol" => "HTTP/1.0", "path" => "/old")
      expect(http.closed_by_peer?(2)).to be(true)
    end
  end
end
