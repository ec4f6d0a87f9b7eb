# frozen_string_literal: true

require "piston/upgrade"

module Piston
  # A Piston server inside this JRuby process. The Java core accepts connections on its own
  # threads and calls the app on its Ruby worker threads; this object starts and stops it.
  #
  #   server = Piston::Server.new(app, host: "127.0.0.1", port: 0, threads: 8).start
  #   server.port   # => the port it listens on
  #   server.stop   # graceful: requests in flight finish first
  #
  # redis: "redis://HOST:PORT[/DB]" (default: $PISTON_REDIS_URL) carries pub/sub through that
  # Redis while the server runs, so publishes reach every process that shares it; redis: false
  # keeps pub/sub in this process whatever the environment says.
  class Server
    # Ruby option name => [ServerConfig.Builder method, conversion]
    SECONDS = ->(v) { java.time.Duration.ofMillis((Float(v) * 1000).round) }
    BOOLEAN = ->(v) { v ? true : false }
    OPTIONS = {
      io_threads: [:ioThreads, :Integer],
      queue: [:queue, :Integer],
      max_body: [:maxBody, :Integer],
      body_memory: [:bodyMemory, :Integer],
      max_request_line: [:maxRequestLine, :Integer],
      max_header_size: [:maxHeaderSize, :Integer],
      header_timeout: [:headerTimeout, SECONDS],
      body_timeout: [:bodyTimeout, SECONDS],
      idle_timeout: [:idleTimeout, SECONDS],
      write_timeout: [:writeTimeout, SECONDS],
      shutdown_timeout: [:shutdownTimeout, SECONDS],
      pipeline_depth: [:pipelineDepth, :Integer],
      access_log: [:accessLog, :String],
      environment: [:environment, :String]
    }.freeze
    # WebSocket / SSE options => [UpgradeConfig.Builder method, conversion]
    UPGRADE_OPTIONS = {
      max_message: [:maxMessage, :Integer],
      ping_interval: [:pingInterval, SECONDS],
      max_outbound_bytes: [:maxOutboundBytes, :Integer],
      max_outbound_messages: [:maxOutboundMessages, :Integer],
      max_inbound_messages: [:maxInboundMessages, :Integer],
      close_timeout: [:closeTimeout, SECONDS],
      deflate: [:deflate, BOOLEAN]
    }.freeze

    attr_reader :app, :options, :redis

    def initialize(app, host: "0.0.0.0", port: 3000, threads: 5, redis: ENV.fetch("PISTON_REDIS_URL", nil), **options)
      unknown = options.keys - OPTIONS.keys - UPGRADE_OPTIONS.keys
      raise ArgumentError, "unknown option(s): #{unknown.join(', ')}" unless unknown.empty?
      raise ArgumentError, "app must respond to call" unless app.respond_to?(:call)

      @app = app
      @host = host.to_s
      @port = Integer(port)
      @threads = Integer(threads)
      @options = options
      @redis = redis.nil? || redis == false || redis.to_s.strip.empty? ? nil : redis.to_s.strip
      if @redis && !@redis.match?(%r{\A(rediss?|redis-socket)://.+}i)
        raise ArgumentError, "redis: not a Redis URL (redis://HOST:PORT[/DB]): #{@redis.inspect}"
      end
      @java = nil
      @engine = nil
    end

    def start
      raise "already started" if @java

      rack_app = Java::IoPistonRuby::RackApplication.new(JRuby.runtime, @app, Server.rack2?, @threads > 1,
                                                          "Piston #{VERSION}")
      @upgrades = Java::IoPistonUpgrade::UpgradeAcceptor.new(build_upgrade_config)
      rack_app.upgrades = @upgrades
      @java = Java::IoPistonServer::PistonServer.new(build_config, rack_app)
      @java.beforeStop(@upgrades.shutdownHook)
      @java.start
      # Redis unreachable is logged and retried in the background: the server starts anyway.
      if @redis
        @engine = Piston.pubsub_engine_for(@redis)
        Java::IoPistonPubsub::PubSubBroker.get.engine(@engine)
      end
      self
    rescue Java::JavaIo::IOException => e
      @java = nil
      raise Errno::EADDRINUSE, e.message if e.message.include?("in use")
      raise IOError, e.message
    end

    def port
      @java&.port || @port
    end

    def host
      @java&.host || @host
    end

    def threads
      @threads
    end

    def transport
      @java&.transport
    end

    def io_threads
      @java&.config&.ioThreads
    end

    def running?
      !@java.nil?
    end

    # What carries pub/sub: "in-process" or "Redis redis://HOST:PORT/DB".
    def pubsub
      Piston.pubsub_engine.describe
    end

    # Graceful stop; returns when every connection is closed (or the deadline passed). The
    # Redis engine this server started is closed, and pub/sub goes back to in-process.
    def stop
      @java&.stop
      if @engine
        Java::IoPistonPubsub::PubSubBroker.get.resetEngine(@engine)
        @engine = nil
      end
      self
    end

    # Blocks until the server has stopped.
    def join
      @java&.awaitStopped
      self
    end

    # True when the loaded Rack follows the 2.x SPEC (or no Rack is loaded at all).
    def self.rack2?
      !defined?(::Rack::RELEASE) || Gem::Version.new(::Rack::RELEASE) < Gem::Version.new("3")
    end

    private

    def build_config
      builder = Java::IoPistonServer::ServerConfig.builder.host(@host).port(@port).threads(@threads)
      configure(builder, OPTIONS)
    end

    def build_upgrade_config
      configure(Java::IoPistonUpgrade::UpgradeConfig.builder, UPGRADE_OPTIONS)
    end

    # Sets the options of one table on a Java config builder; false turns an option off
    # (access_log: false) unless the option itself is a flag (deflate: false).
    def configure(builder, table)
      @options.each do |name, value|
        method, conversion = table[name]
        next if method.nil? || value.nil? || (value == false && conversion != BOOLEAN)

        converted = conversion.is_a?(Proc) ? conversion.call(value) : Kernel.send(conversion, value)
        builder.send(method, converted)
      end
      builder.build
    rescue Java::JavaLang::IllegalArgumentException => e
      raise ArgumentError, e.message
    end
  end

  # Runs an app until INT or TERM, then stops gracefully. Returns the stopped server.
  #
  #   Piston.run(app, host: "127.0.0.1", port: 8080, threads: 8, max_body: 10 * 1024**2)
  #   Piston.run(app, port: 0) { |server| puts "on port #{server.port}" }  # yields once started
  #
  # Takes every Piston::Server option. It also returns when something else stops the server
  # (server.stop from another thread, as Sinatra's and rackup's shutdown do). The signal
  # handlers it installs are put back afterwards.
  def self.run(app, host: "0.0.0.0", port: 3000, threads: 5, **options)
    server = Server.new(app, host: host, port: port, threads: threads, **options).start
    yield server if block_given?
    signal = wait_for_stop_signal(server)
    $stdout.puts "* #{signal} received, stopping gracefully" if signal
    server.stop
  end

  # Blocks the calling thread until INT or TERM arrives and returns the signal's name, or, given
  # a server, until that server has stopped (then nil).
  def self.wait_for_stop_signal(server = nil)
    signals = Queue.new
    previous = %w[INT TERM].to_h { |sig| [sig, trap(sig) { signals << sig }] }
    # Ends by itself once the server has stopped (Piston.run stops it after a signal).
    server && Thread.new { server.join; signals << nil }
    signals.pop
  ensure
    previous&.each { |sig, handler| trap(sig, handler || "DEFAULT") }
  end
end
