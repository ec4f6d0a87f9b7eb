# frozen_string_literal: true

require "piston"

module Piston
  # The Rack handler API, shared by Rack::Handler::Piston (rack 2.2's rackup, Rails 6.1's
  # `rails server -u piston`, Sinatra 3) and Rackup::Handler::Piston (rack 3 with rackup 2,
  # Rails 7.2, Sinatra 4), which both extend this module:
  #
  #   rackup -s piston -O Threads=8 -O MaxBody=10m config.ru
  #   Rack::Handler::Piston.run(app, Host: "127.0.0.1", Port: 9292, Threads: 8) { |server| ... }
  #
  # `run` blocks until INT or TERM (or `shutdown`), then stops gracefully. Host and Port come
  # from rackup's -o/-p; every option that has an -O name (Piston::Options) can be given in
  # CamelCase (MaxBody=10m) or snake_case (max_body=10m).
  module RackHandler
    # Options that rackup, Rails and Sinatra pass to every handler: used (Host, Port,
    # environment, quiet, Silent) or ignored without a warning.
    FRAMEWORK_OPTIONS = %i[
      Host Port environment config server pid daemonize debug warn include require quiet Silent
      builder app heapfile profile_file profile_mode early_hints caching restart_cmd
      user_supplied_options log_stdout DoNotReverseLookup
    ].freeze

    # `rackup -s piston -h` prints these.
    def valid_options
      environment = ENV["RACK_ENV"] || "development"
      default_host = environment == "development" ? "localhost" : "0.0.0.0"
      {
        "Host=HOST" => "Hostname to listen on (default: #{default_host})",
        "Port=PORT" => "Port to listen on (default: 8080)"
      }.merge(Options::ALL.select(&:rackup).to_h { |o| ["#{o.rackup}=#{o.placeholder}", o.help_with_default] })
    end

    # Serves app until INT or TERM (or shutdown); yields the started Piston::Server.
    def run(app, **options)
      server_options = server_options(options)
      quiet = options[:quiet] || options[:Silent]
      Piston.run(app, **server_options) do |server|
        @server = server
        banner(server, server_options) unless quiet
        yield server if block_given?
      end
    ensure
      @server = nil
    end

    # Graceful stop of the server `run` started (rackup's INT trap calls it).
    def shutdown
      @server&.stop
    end

    # rackup / Rails / Sinatra options => Piston::Server keyword arguments.
    def server_options(options)
      result = { port: options[:Port] || 8080 }
      result[:host] = options[:Host] if options[:Host]
      env = options[:environment] || ENV["RACK_ENV"]
      result[:environment] = env if env
      options.each do |key, value|
        next if FRAMEWORK_OPTIONS.include?(key.to_sym)

        option = Options::ALL.find { |o| o.rackup && [o.rackup, o.name.to_s].include?(key.to_s) }
        if option.nil?
          warn "piston: ignoring unknown option #{key}=#{value.inspect} (`rackup -s piston -h` lists them)"
          next
        end
        converted = option.parse(value, "piston option #{key}")
        result[option.name] = converted unless converted.nil?
      end
      result
    end

    private

    def banner(server, options)
      java_version = java.lang.System.getProperty("java.version")
      display = server.host.include?(":") ? "[#{server.host}]" : server.host
      out = $stdout
      out.puts "Piston #{VERSION} (JRuby #{JRUBY_VERSION}, Ruby #{RUBY_VERSION}, Java #{java_version})"
      out.puts "* Transport: #{server.transport}, IO threads: #{server.io_threads}, Ruby threads: #{server.threads}, open files limit: #{FdLimit.text(server.fd_limit)}"
      out.puts "* Access log: #{options[:access_log] == '-' ? 'standard output' : options[:access_log]}" if options[:access_log]
      out.puts "* Listening on http://#{display}:#{server.port}"
      out.puts "Use Ctrl-C to stop"
      out.flush
    end
  end
end
