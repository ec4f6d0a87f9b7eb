# frozen_string_literal: true

require "optparse"
require "piston/version"
require "piston/options"
require "piston/rubygems_on_demand"

module Piston
  # `piston [options] [config.ru]`: parses options, loads the app, prints the banner and serves
  # until INT or TERM. Shared by bin/piston and the gem's executable.
  class CLI
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

      config = options.delete(:config)
      raise Errno::ENOENT, "no #{config} here (give the path of a config.ru)" unless File.file?(config)

      require "piston"
      ENV["RACK_ENV"] ||= options.fetch(:environment) { Options[:environment].default }
      app = begin
        load_app(config)
      rescue StandardError, ScriptError => e
        return app_failed(config, e)
      end
      server = Server.new(app, **options).start
      banner(server, options)
      signal = Piston.wait_for_stop_signal
      @out.puts "* #{signal} received: finishing requests in flight, then stopping"
      server.stop
      @out.puts "* Stopped"
      0
    rescue OptionParser::ParseError, Options::InvalidValue => e
      @err.puts "piston: #{e.message}"
      @err.puts "Run `piston --help` for the options."
      64
    rescue Errno::ENOENT, Errno::EADDRINUSE, IOError, LoadError => e
      @err.puts "piston: #{e.message}"
      1
    end

    # The options given (Piston::Server keywords) and :config, the config.ru; nil after --help
    # or --version.
    def parse(argv)
      options = {}
      options[:port] = Options[:port].parse(ENV["PORT"], "$PORT") unless ENV.fetch("PORT", "").empty?
      parser = OptionParser.new do |o|
        o.banner = "Usage: piston [options] [config.ru]\n\nServes a Rack app (default ./config.ru), " \
                   "with WebSockets and SSE through rack.upgrade.\n\nOptions:"
        Options::ALL.each do |option|
          next unless option.flags

          label = option.flags.last.split.first
          o.on(*option.flags, option.help_with_default) { |v| options[option.name] = option.parse(v, label) }
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

    # Looks for rack before RubyGemsOnDemand is installed: when bin/piston started JRuby without
    # RubyGems, RubyGems would find no rack gem, and loading it just to look would undo the gain.
    def load_app(path)
      rack = rack_available?
      RubyGemsOnDemand.install
      if !rack
        require "piston/builder"
        Piston::Builder.parse_file(path)
      elsif path.end_with?(".rb")
        ::Rack::Builder.parse_file(path).then { |app| app.is_a?(Array) ? app.first : app }
      else
        require "piston/config_file"
        Piston::ConfigFile.evaluate(path, ::Rack::Builder).to_app
      end
    end

    # What config.ru raised is the app's error, not a usage error: its message and where it came
    # from (the head of the backtrace is enough to find the line).
    def app_failed(path, error)
      @err.puts "piston: #{path} failed: #{error.message} (#{error.class})"
      (error.backtrace || []).first(5).each { |line| @err.puts "    from #{line}" }
      1
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
      @out.puts "* Transport: #{server.transport}, IO threads: #{server.io_threads}, Ruby threads: #{server.threads}, open files limit: #{FdLimit.text(server.fd_limit)}"
      @out.puts "* Access log: #{options[:access_log] == '-' ? 'standard output' : options[:access_log]}" if options[:access_log]
      @out.puts "* Pub/sub: #{server.pubsub}"
      display = server.host.include?(":") ? "[#{server.host}]" : server.host
      @out.puts "* Listening on http://#{display}:#{server.port}"
      @out.puts "Use Ctrl-C to stop"
    end
  end
end
