# frozen_string_literal: true

# An in-process Piston server for specs. `piston` is required only when a server is started,
# so specs that never start one (spec/support_spec.rb) run even while it does not load.
#
#   RSpec.describe "hello" do
#     before(:all) { @server = serve('run ->(env) { [200, {}, ["hi"]] }', max_body: 1024) }
#     after(:all) { @server&.stop }
#     it("answers") { expect(RawHttp.get(@server.host, @server.port, "/").body).to eq("hi") }
#   end
#
# serve takes an app (anything with #call), config.ru source, or the path of a .ru file, and
# Piston::Server options (defaults: host 127.0.0.1, port 0, 4 threads, no access log). It
# returns a started PistonSpec::Server (#host, #port, #url, #stop). A server left running is
# stopped anyway: after its example when started in one, after its group when started in
# before(:all), and at exit otherwise. Stopping twice is harmless.
module PistonSpec
  class Server
    DEFAULTS = { host: "127.0.0.1", port: 0, threads: 4, access_log: false }.freeze
    STOP_TIMEOUT = 30

    @live = []
    @live_lock = Mutex.new
    class << self
      attr_reader :live, :live_lock
    end

    at_exit { PistonSpec::Server.stop_all }

    attr_reader :app, :options, :piston
    attr_accessor :owner # the example or example group that started it

    def self.start(app, **opts)
      new(app, **opts).start
    end

    # Stops the live servers for which the block is true (all of them without a block).
    def self.stop_all(&filter)
      list = live_lock.synchronize { filter ? live.select(&filter) : live.dup }
      list.reverse_each do |srv|
        srv.stop
      rescue StandardError => e
        warn "PistonSpec::Server: stopping #{srv.inspect} failed: #{e.class}: #{e.message}"
      end
    end

    # Turns an app, config.ru source or the path of a .ru file into a Rack app.
    def self.to_app(app)
      return app if app.respond_to?(:call)
      unless app.is_a?(String)
        raise ArgumentError, "expected a Rack app, config.ru source or .ru path, got #{app.inspect}"
      end

      require "rack"
      require "rack/builder"
      if app.end_with?(".ru") && File.file?(app)
        # Rack 2 returns [app, options], Rack 3 the app alone.
        parsed = Rack::Builder.parse_file(app)
        parsed.is_a?(Array) ? parsed.first : parsed
      else
        Rack::Builder.new_from_string(app)
      end
    end

    def initialize(app, **opts)
      @app = self.class.to_app(app)
      @options = DEFAULTS.merge(opts)
      @stopped = false
    end

    def start
      require "piston"
      @piston = Piston::Server.new(@app, **@options).start
      self.class.live_lock.synchronize { self.class.live << self }
      self
    end

    def host
      @options[:host]
    end

    def port
      @piston.port
    end

    def url(path = "/")
      "http://#{host}:#{port}#{path}"
    end

    def running?
      !@piston.nil? && !@stopped
    end

    # Graceful stop, bounded: one that takes longer than timeout raises instead of hanging.
    def stop(timeout: STOP_TIMEOUT)
      return if @piston.nil? || @stopped

      @stopped = true
      self.class.live_lock.synchronize { self.class.live.delete(self) }
      error = nil
      t = Thread.new do
        @piston.stop
      rescue Exception => e # rubocop:disable Lint/RescueException
        error = e
      end
      raise "Piston::Server#stop did not return within #{timeout}s" unless t.join(timeout)
      raise error if error
    end

    # A new RawHttp connection to this server (the caller closes it).
    def connect(**opts)
      RawHttp.new(host, port, **opts)
    end

    def inspect
      "#<PistonSpec::Server #{running? ? url : 'stopped'}>"
    end
  end

  # Included into every example group (spec_helper).
  module ServerHelpers
    # Starts a Piston server in this process; see PistonSpec::Server.
    def serve(app, **opts)
      srv = PistonSpec::Server.start(app, **opts)
      # In before(:all) there is no current example: the server belongs to the group.
      srv.owner = RSpec.current_example ? self : self.class
      srv
    end
  end
end
