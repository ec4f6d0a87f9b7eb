# frozen_string_literal: true

require "piston"

module Piston
  # The Rack handler API, shared by Rack::Handler::Piston (rack 2.2's rackup, Rails 6.1's
  # `rails server -u piston`, Sinatra 3) and Rackup::Handler::Piston (rack 3 with rackup 2,
  # Sinatra 4), which both extend this module:
  #
  #   rackup -s piston -O Threads=8 -O MaxBody=10m config.ru
  #   Rack::Handler::Piston.run(app, Host: "127.0.0.1", Port: 9292, Threads: 8) { |server| ... }
  #
  # `run` blocks until INT or TERM (or `shutdown`), then stops gracefully. Host and Port come
  # from rackup's -o/-p; every Piston::Server option can be given with -O in CamelCase
  # (MaxBody=10m) or snake_case (max_body=10m).
  module RackHandler
    # -O name => [Piston::Server option, kind, help]. Kinds: :int, :size (10m, 64k), :seconds,
    # :threads (N or MIN:MAX, Puma style: Piston has a fixed pool, so MAX), :log, :bool, :url.
    OPTIONS = {
      "Threads" => [:threads, :threads, "Ruby worker threads (default 5; Puma-style MIN:MAX uses MAX)"],
      "IoThreads" => [:io_threads, :int, "Netty IO threads (default: one per core)"],
      "Queue" => [:queue, :int, "Requests waiting for a worker before 503 (default 1024)"],
      "MaxBody" => [:max_body, :size, "Largest request body, e.g. 10m (default 100m); larger gets 413"],
      "BodyMemory" => [:body_memory, :size, "Request body bytes kept in memory before a temp file (default 1m)"],
      "MaxRequestLine" => [:max_request_line, :size, "Longest request line (default 8k; larger gets 414)"],
      "MaxHeaderSize" => [:max_header_size, :size, "Largest header block (default 16k; larger gets 431)"],
      "HeaderTimeout" => [:header_timeout, :seconds, "Seconds a client has to send its headers (default 20)"],
      "BodyTimeout" => [:body_timeout, :seconds, "Seconds a client has to send its body, plus 1 per 16k received (default 20)"],
      "IdleTimeout" => [:idle_timeout, :seconds, "Keep-alive idle timeout in seconds (default 20)"],
      "WriteTimeout" => [:write_timeout, :seconds, "Seconds a response write may stall (default 60)"],
      "ShutdownTimeout" => [:shutdown_timeout, :seconds, "Seconds requests get to finish at stop (default 10)"],
      "PipelineDepth" => [:pipeline_depth, :int, "Pipelined requests read ahead per connection (default 16)"],
      "AccessLog" => [:access_log, :log, "Log each request to FILE, or - for standard output (default: off)"],
      "MaxMessage" => [:max_message, :size, "Largest incoming WebSocket message (default 1m)"],
      "Ping" => [:ping_interval, :seconds, "Idle seconds before a WebSocket ping / SSE comment (default 40)"],
      "MaxOutbound" => [:max_outbound_bytes, :size, "Bytes queued for one WebSocket/SSE client (default 8m)"],
      "MaxOutboundMessages" => [:max_outbound_messages, :int, "Writes queued for one WebSocket/SSE client (default 16384)"],
      "MaxInboundMessages" => [:max_inbound_messages, :int, "WebSocket messages waiting for their callback before reading pauses (default 64)"],
      "CloseTimeout" => [:close_timeout, :seconds, "Seconds to wait for the peer's WebSocket Close (default 5)"],
      "Deflate" => [:deflate, :bool, "WebSocket permessage-deflate (default true)"],
      "Redis" => [:redis, :url, "Pub/sub through Redis, redis://HOST:PORT[/DB] (default $PISTON_REDIS_URL)"]
    }.freeze

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
      }.merge(OPTIONS.to_h { |name, (_, kind, help)| ["#{name}=#{placeholder(kind)}", help] })
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
      result = { host: (options[:Host] || "0.0.0.0").to_s, port: Integer(options[:Port] || 8080) }
      env = options[:environment] || ENV["RACK_ENV"]
      result[:environment] = env.to_s if env
      options.each do |key, value|
        next if FRAMEWORK_OPTIONS.include?(key.to_sym)

        name, (option, kind, _) = OPTIONS.find { |n, (opt, _, _)| n == key.to_s || opt.to_s == key.to_s }
        if name.nil?
          warn "piston: ignoring unknown option #{key}=#{value.inspect} (`rackup -s piston -h` lists them)"
          next
        end
        converted = convert(kind, value, name)
        result[option] = converted unless converted.nil?
      end
      result
    end

    private

    def placeholder(kind)
      { int: "N", threads: "N", size: "SIZE", seconds: "SECONDS", log: "FILE", bool: "true|false", url: "URL" }.fetch(kind)
    end

    def convert(kind, value, name)
      case kind
      when :int then Integer(value.to_s)
      when :threads then Integer(value.to_s.split(":").last)
      when :seconds then Float(value.to_s)
      when :size then size(value)
      when :bool then !%w[false no off 0].include?(value.to_s.downcase)
      when :url then value.to_s
      when :log
        # rackup's own default is WEBrick's AccessLog: [] (an Array): not a file name.
        return nil if value.is_a?(Array) || value == false
        value == true || value.to_s.empty? ? "-" : value.to_s
      end
    rescue ArgumentError, TypeError
      raise ArgumentError, "piston: invalid value #{value.inspect} for option #{name}"
    end

    def size(value)
      return Integer(value) if value.is_a?(Integer)

      m = /\A(\d+)([kmg]?)b?\z/i.match(value.to_s.strip) or raise ArgumentError, "size #{value.inspect}"
      Integer(m[1]) * { "" => 1, "k" => 1024, "m" => 1024**2, "g" => 1024**3 }.fetch(m[2].downcase)
    end

    def banner(server, options)
      java_version = java.lang.System.getProperty("java.version")
      display = server.host.include?(":") ? "[#{server.host}]" : server.host
      out = $stdout
      out.puts "Piston #{VERSION} (JRuby #{JRUBY_VERSION}, Ruby #{RUBY_VERSION}, Java #{java_version})"
      out.puts "* Transport: #{server.transport}, IO threads: #{server.io_threads}, Ruby threads: #{server.threads}"
      out.puts "* Access log: #{options[:access_log] == '-' ? 'standard output' : options[:access_log]}" if options[:access_log]
      out.puts "* Listening on http://#{display}:#{server.port}"
      out.puts "Use Ctrl-C to stop"
      out.flush
    end
  end
end
