# frozen_string_literal: true

require "optparse"
require "piston/version"

module Piston
  # `piston [options] [config.ru]`: parses options, loads the app, prints the banner and serves
  # until INT or TERM. Shared by bin/piston and the gem's executable.
  class CLI
    DEFAULTS = { host: "0.0.0.0", port: 3000, threads: 5, environment: "development" }.freeze

    def initialize(argv, out: $stdout, err: $stderr)
      @argv = argv.dup
      @out = out
      @err = err
    end

    def run
      $stdout.sync = true
      $stderr.sync = true
      options = parse(@argv)
      return 0 if options.nil?

      require "piston"
      ENV["RACK_ENV"] ||= options[:environment]
      app = load_app(options.delete(:config))
      server = Server.new(app, **options.except(:config)).start
      banner(server, options)
      signal = Piston.wait_for_stop_signal
      @out.puts "* #{signal} received: finishing requests in flight, then stopping"
      server.stop
      @out.puts "* Stopped"
      0
    rescue OptionParser::ParseError, ArgumentError => e
      @err.puts "piston: #{e.message}"
      @err.puts "Run `piston --help` for the options."
      64
    rescue Errno::ENOENT, Errno::EADDRINUSE, IOError, LoadError => e
      @err.puts "piston: #{e.message}"
      1
    end

    def parse(argv)
      options = DEFAULTS.dup
      options[:port] = Integer(ENV["PORT"]) if ENV["PORT"] && !ENV["PORT"].empty?
      parser = OptionParser.new do |o|
        o.banner = "Usage: piston [options] [config.ru]\n\nServes a Rack app (default ./config.ru), " \
                   "with WebSockets and SSE through rack.upgrade.\n\nOptions:"
        o.on("-p", "--port PORT", Integer, "Port to listen on (default 3000, or $PORT)") { |v| options[:port] = v }
        o.on("-b", "--bind HOST", "Address to bind (default 0.0.0.0)") { |v| options[:host] = v }
        o.on("-t", "--threads N", Integer, "Ruby worker threads (default 5)") { |v| options[:threads] = v }
        o.on("-e", "--environment ENV", "RACK_ENV (default development)") { |v| options[:environment] = v }
        o.on("--max-body SIZE", "Largest request body, e.g. 10m (default 100m); larger gets 413") do |v|
          options[:max_body] = size(v)
        end
        o.on("--access-log [FILE]", "Log each request to FILE (default: standard output)") do |v|
          options[:access_log] = v || "-"
        end
        o.on("--io-threads N", Integer, "Netty IO threads (default: one per core)") { |v| options[:io_threads] = v }
        o.on("--queue N", Integer, "Requests waiting for a worker before 503 (default 1024)") { |v| options[:queue] = v }
        o.on("--header-timeout SECONDS", Float, "Time a client has to send its headers (default 20)") do |v|
          options[:header_timeout] = v
        end
        o.on("--body-timeout SECONDS", Float, "Time a client has to send its body, plus 1 s per 16k received (default 20)") do |v|
          options[:body_timeout] = v
        end
        o.on("--idle-timeout SECONDS", Float, "Keep-alive idle timeout (default 20)") { |v| options[:idle_timeout] = v }
        o.on("--shutdown-timeout SECONDS", Float, "Grace period for requests at stop (default 10)") do |v|
          options[:shutdown_timeout] = v
        end
        o.on("--max-message SIZE", "Largest incoming WebSocket message, e.g. 4m (default 1m); larger: close 1009") do |v|
          options[:max_message] = size(v)
        end
        o.on("--ping SECONDS", Float, "Idle seconds before a WebSocket ping / SSE comment (default 40)") do |v|
          options[:ping_interval] = v
        end
        o.on("--max-outbound SIZE", "Bytes queued for one WebSocket/SSE client before it is closed as slow (default 8m)") do |v|
          options[:max_outbound_bytes] = size(v)
        end
        o.on("--max-outbound-messages N", Integer, "Writes queued for one client before it is closed as slow (default 16384)") do |v|
          options[:max_outbound_messages] = v
        end
        o.on("--redis URL", "Pub/sub through Redis, redis://HOST:PORT[/DB] (default $PISTON_REDIS_URL; " \
                            "without it, in-process)") do |v|
          options[:redis] = v
        end
        o.on("--[no-]deflate", "WebSocket permessage-deflate when the client offers it (default on)") do |v|
          options[:deflate] = v
        end
        o.on("-v", "--version", "Print the version and exit") do
          @out.puts "piston #{VERSION}"
          return nil
        end
        o.on("-h", "--help", "Show this help and exit") do
          @out.puts o
          return nil
        end
      end
      rest = parser.parse(argv)
      raise OptionParser::InvalidArgument, "one config.ru at most, got: #{rest.join(' ')}" if rest.size > 1

      options[:config] = rest.first || "config.ru"
      options
    end

    private

    def size(text)
      m = /\A(\d+)([kmg]?)b?\z/i.match(text.strip) or raise OptionParser::InvalidArgument, "size #{text.inspect}"
      Integer(m[1]) * { "" => 1, "k" => 1024, "m" => 1024**2, "g" => 1024**3 }.fetch(m[2].downcase)
    end

    def load_app(path)
      raise Errno::ENOENT, "no #{path} here (give the path of a config.ru)" unless File.file?(path)

      if !rack_available?
        require "piston/builder"
        Piston::Builder.parse_file(path)
      elsif path.end_with?(".rb")
        ::Rack::Builder.parse_file(path).then { |app| app.is_a?(Array) ? app.first : app }
      else
        require "piston/config_file"
        Piston::ConfigFile.evaluate(path, ::Rack::Builder).to_app
      end
    end

    def rack_available?
      require "rack"
      require "rack/builder"
      true
    rescue LoadError
      false
    end

    def banner(server, options)
      java_version = java.lang.System.getProperty("java.version")
      vm = java.lang.System.getProperty("java.vm.name")
      rack = defined?(::Rack::RELEASE) ? "Rack #{::Rack::RELEASE}" : "built-in config.ru loader (no rack gem)"
      @out.puts "Piston #{VERSION} (JRuby #{JRUBY_VERSION}, Ruby #{RUBY_VERSION}, Java #{java_version} #{vm})"
      @out.puts "* #{rack}, environment: #{ENV['RACK_ENV']}"
      @out.puts "* Transport: #{server.transport}, IO threads: #{server.io_threads}, Ruby threads: #{server.threads}"
      @out.puts "* Access log: #{options[:access_log] == '-' ? 'standard output' : options[:access_log]}" if options[:access_log]
      @out.puts "* Pub/sub: #{server.pubsub}"
      display = server.host.include?(":") ? "[#{server.host}]" : server.host
      @out.puts "* Listening on http://#{display}:#{server.port}"
      @out.puts "Use Ctrl-C to stop"
    end
  end
end
