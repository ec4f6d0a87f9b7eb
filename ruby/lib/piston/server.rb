# frozen_string_literal: true

require "piston/options"
require "piston/fd_limit"
require "piston/upgrade"
require "piston/lint_upgrades"
require "piston/cable"

module Piston
  # A Piston server inside this JRuby process. The Java core accepts connections on its own
  # threads and calls the app on its Ruby worker threads; this object starts and stops it.
  #
  #   server = Piston::Server.new(app, host: "127.0.0.1", port: 0, threads: 8).start
  #   server.port   # => the port it listens on
  #   server.stop   # graceful: requests in flight finish first
  #
  # Its keywords, their defaults and meaning are Piston::Options (README.md's Options table);
  # #options has the value of every one of them. redis: "redis://HOST:PORT[/DB]" (default:
  # $PISTON_REDIS_URL) carries pub/sub through that Redis while the server runs, so publishes
  # reach every process that shares it; redis: false keeps pub/sub in this process whatever the
  # environment says.
  class Server
    # fd_limit: the open files limit (soft) the process runs with, raised at start (FdLimit).
    attr_reader :app, :options, :redis, :fd_limit

    def initialize(app, **options)
      @options = Options.resolve(options).freeze
      raise ArgumentError, "app must respond to call" unless app.respond_to?(:call)

      @app = app
      @host, @port, @threads, @redis = @options.values_at(:host, :port, :threads, :redis)
      @java = nil
      @engine = nil
    end

    def start
      raise "already started" if @java

      LintUpgrades.install(@app)
      Cable.install if defined?(::ActionCable::Server)
      @fd_limit = FdLimit.raise_to_hard
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
      !defined?(::Rack::RELEASE) || ::Rack::RELEASE.to_i < 3
    end

    private

    def build_config
      configure(Java::IoPistonServer::ServerConfig.builder, :server)
    end

    def build_upgrade_config
      configure(Java::IoPistonUpgrade::UpgradeConfig.builder, :upgrade)
    end

    # Sets the options that go to one Java config (:server or :upgrade) on its builder. nil is
    # left out: the builder's own choice (io_threads: one per core) or off (access_log).
    def configure(builder, config)
      Options::ALL.each do |option|
        value = @options[option.name]
        next if option.config != config || value.nil?

        value = java.time.Duration.ofMillis((value * 1000).round) if option.kind == :seconds
        builder.send(option.java_setter, value)
      end
      builder.build
    rescue Java::JavaLang::IllegalArgumentException => e
      raise Options::InvalidValue, e.message
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
  def self.run(app, **options)
    server = Server.new(app, **options).start
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
