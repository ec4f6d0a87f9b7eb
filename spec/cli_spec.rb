# frozen_string_literal: true

require "spec_helper"
require "open3"

# bin/piston as a user runs it: options, banner, unbuffered output, access log, the built-in
# config.ru loader, and graceful stop on TERM and INT.
RSpec.describe "bin/piston" do
  CLI_ROOT = File.expand_path("..", __dir__)
  CLI_PISTON = File.join(CLI_ROOT, "bin", "piston")

  # Starts bin/piston and waits for its "Listening on" line; yields [port, output reader].
  def start_piston(*args, env: {})
    out_r, out_w = IO.pipe
    pid = Process.spawn(env, CLI_PISTON, "-b", "127.0.0.1", *args, out: out_w, err: out_w, pgroup: true)
    out_w.close
    output = +""
    port = nil
    Timeout.timeout(90) do
      until port
        line = out_r.gets or raise "piston exited before listening:\n#{output}"
        output << line
        port = line[%r{Listening on http://127\.0\.0\.1:(\d+)}, 1]&.to_i
      end
    end
    reader = Thread.new { out_r.each_line { |l| output << l } rescue nil }
    [pid, port, output, reader]
  end

  def stop_piston(pid, signal = "TERM")
    Process.kill(signal, pid)
    Timeout.timeout(30) { Process.wait(pid) }
    $?
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end

  it "prints its options with --help and its version with -v" do
    out, status = Open3.capture2e(CLI_PISTON, "--help")
    expect(status).to be_success
    %w[--port --bind --threads --environment --max-body --access-log --version --help].each do |flag|
      expect(out).to include(flag)
    end
    out, status = Open3.capture2e(CLI_PISTON, "-v")
    expect(status).to be_success
    expect(out.strip).to match(/\Apiston \d+\.\d+\.\d+\z/)
  end

  it "explains a missing config.ru and a bad option" do
    out, status = Open3.capture2e(CLI_PISTON, "/nonexistent/config.ru")
    expect(status.exitstatus).to eq(1)
    expect(out).to include("no /nonexistent/config.ru")
    out, status = Open3.capture2e(CLI_PISTON, "--threads", "many")
    expect(status.exitstatus).to eq(64)
    expect(out).to include('--threads: "many"')
  end

  it "reports what config.ru raises as the app's error, with where it was raised, not as a usage error" do
    out, status = Open3.capture2e(CLI_PISTON, File.join(__dir__, "fixtures", "raises.ru"))
    expect(status.exitstatus).to eq(1)
    expect(out).to include('setting "bad" is not allowed (ArgumentError)')
    expect(out).to match(%r{from .*fixtures/raises\.ru:4:in})
    expect(out).not_to include("piston --help")
  end

  context "serving a config.ru" do
    before(:all) do
      @pid, @port, @output, @reader = start_piston("-p", "0", "-t", "3", "--access-log", "-e", "test",
                                                   File.join(__dir__, "fixtures", "cli.ru"))
    end
    after(:all) { stop_piston(@pid) if @pid }

    it "prints a startup banner with versions, transport, threads and address" do
      expect(@output).to match(/Piston \d+\.\d+\.\d+ \(JRuby 9\.4|Piston \d+\.\d+\.\d+ \(JRuby 10/)
      expect(@output).to include("Java ")
      expect(@output).to include("Transport: #{PistonSpec::TRANSPORT}")
      expect(@output).to match(/open files limit: \d+/)
      expect(@output).to include("Ruby threads: 3")
      expect(@output).to include("environment: test")
    end

    it "shows the app's puts at once and writes an access log line" do
      res = RawHttp.get("127.0.0.1", @port, "/hello")
      expect(res.body).to eq("hello from cli")
      Timeout.timeout(5) { sleep 0.05 until @output.include?("app saw /hello") && @output.include?('"GET /hello HTTP/1.1" 200 14') }
      expect(@output).to match(%r{127\.0\.0\.1 - - \[[^\]]+\] "GET /hello HTTP/1\.1" 200 14 \d+\.\d+})
    end

    it "finishes a request in flight on TERM, then exits" do
      http = RawHttp.new("127.0.0.1", @port, timeout: 10)
      http.request("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
      # TERM closes idle connections at once: wait until the app has the request
      Timeout.timeout(10) { sleep 0.05 until @output.include?("app saw /slow") }
      Process.kill("TERM", @pid)
      res = http.read_response
      expect(res.body).to eq("finished slowly")
      expect(res["connection"]).to eq("close")
      Timeout.timeout(30) { Process.wait(@pid) }
      expect($?.exitstatus).to eq(0)
      @pid = nil
      @reader.join(5)
      expect(@output).to include("TERM received")
    ensure
      http&.close
    end
  end

  it "takes the port from PORT and stops on INT" do
    port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
    pid, listening, output, reader = start_piston(File.join(__dir__, "fixtures", "cli.ru"), env: { "PORT" => port.to_s })
    expect(listening).to eq(port)
    expect(RawHttp.get("127.0.0.1", port, "/").status).to eq(200)
    status = stop_piston(pid, "INT")
    expect(status.exitstatus).to eq(0)
    reader.join(5)
    expect(output).to include("INT received")
  end

  # Both loaders: the built-in one (no gems) and Rack::Builder.
  [["the built-in loader", "built-in config.ru loader",
    { "GEM_PATH" => "/nonexistent", "GEM_HOME" => "/nonexistent", "RUBYLIB" => nil, "RUBYOPT" => nil }],
   ["Rack::Builder", "* Rack ", {}]].each do |loader, banner, loader_env|
    it "reads config.ru with #{loader} so that its blocks compile, keeping its lines and magic comments" do
      # JRUBY_OPTS such as --dev would turn the compiler off.
      env = loader_env.merge("JRUBY_OPTS" => nil)
      pid, port, output, = start_piston("-p", "0", File.join(__dir__, "fixtures", "script.ru"), env: env)
      expect(output).to include(banner)
      body = nil
      # JRuby compiles a block after 50 calls, in the background; eval'd blocks never compile.
      400.times do
        body = RawHttp.get("127.0.0.1", port, "/").body
        break if body.end_with?("compiled true")

        sleep 0.02
      end
      expect(body).to eq("line 8, frozen true, script.ru, compiled true")
    ensure
      stop_piston(pid) if pid
    end
  end

  # No gem for RubyGems to find but JRuby's own: bin/piston starts JRuby without RubyGems, and
  # Piston loads it when the app first needs it. A gem in the user's gem directory (HOME is an
  # empty folder otherwise) means a start with RubyGems, as always.
  [["at a require", {}, false],
   ["at a call to gem", { "PISTON_SPEC_GEM_FIRST" => "1" }, false],
   ["at start when the user has gems", {}, true]].each do |when_loaded, app_env, user_gem|
    it "loads RubyGems #{when_loaded}" do
      Dir.mktmpdir do |home|
        if user_gem
          specifications = File.join(home, ".gem", "jruby", RbConfig::CONFIG["ruby_version"], "specifications")
          FileUtils.mkdir_p(specifications)
          File.write(File.join(specifications, "placeholder-1.0.gemspec"),
                     'Gem::Specification.new { |s| s.name = "placeholder"; s.version = "1.0"; s.summary = "x"; s.authors = ["x"] }')
        end
        env = { "GEM_PATH" => nil, "GEM_HOME" => nil, "RUBYLIB" => nil, "RUBYOPT" => nil, "JRUBY_OPTS" => nil,
                "XDG_DATA_HOME" => nil, "HOME" => home }.merge(app_env)
        pid, port, output, = start_piston("-p", "0", File.join(__dir__, "fixtures", "rubygems_on_demand.ru"), env: env)
        expect(output).to include("built-in config.ru loader")
        expect(RawHttp.get("127.0.0.1", port, "/").body)
          .to match(/\ARubyGems at start: #{user_gem}, REXML \d+\.\d+\.\d+, RubyGems \d+\.\d+\.\d+\z/)
      ensure
        stop_piston(pid) if pid
      end
    end
  end

  # G1, giving memory back when idle, unless PISTON_JAVA_OPTS names a collector.
  [["G1 and its options without PISTON_JAVA_OPTS", { "PISTON_JAVA_OPTS" => nil },
    "G1 Young Generation,G1 Old Generation", "G1PeriodicGCInterval=30000 MaxHeapFreeRatio=30 MinHeapFreeRatio=10"],
   ["the collector PISTON_JAVA_OPTS names, without G1's options", { "PISTON_JAVA_OPTS" => "-XX:+UseSerialGC" },
    "Copy,MarkSweepCompact", "G1PeriodicGCInterval=0 MaxHeapFreeRatio=70 MinHeapFreeRatio=40"]
  ].each do |what, env, collectors, options|
    it "starts the JVM with #{what}" do
      env = env.merge("PISTON_STARTUP_ARCHIVE" => "0")
      pid, port, = start_piston("-p", "0", File.join(__dir__, "fixtures", "collector.ru"), env: env)
      expect(RawHttp.get("127.0.0.1", port, "/").body).to eq("#{collectors}\n#{options}")
    ensure
      stop_piston(pid) if pid
    end
  end

  it "runs a config.ru with use, map and run when no gems are installed" do
    no_gems = { "GEM_PATH" => "/nonexistent", "GEM_HOME" => "/nonexistent", "RUBYLIB" => nil, "RUBYOPT" => nil }
    pid, port, output, = start_piston("-p", "0", File.join(__dir__, "fixtures", "builtin.ru"), env: no_gems)
    expect(output).to include("built-in config.ru loader")
    expect(RawHttp.get("127.0.0.1", port, "/").body).to eq("ROOT BUILTIN!")
    expect(RawHttp.get("127.0.0.1", port, "/admin/users").body).to eq("ADMIN /ADMIN /USERS!")
  ensure
    stop_piston(pid) if pid
  end
end
