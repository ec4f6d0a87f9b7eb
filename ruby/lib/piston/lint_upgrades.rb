# frozen_string_literal: true

module Piston
  # `rackup` in development wraps the app in Rack::Lint, which wants an Integer status >= 100, so
  # an upgrade answered as the article does (`[0, {}, []]`) would end in a LintError and a 500.
  # Piston shows Lint the response the upgrade becomes instead: inside each Rack::Lint of the app
  # it serves, an UpgradeStatus turns the status of an upgrade Piston will perform into the one it
  # sends (101 for WebSocket, 200 for SSE). Every other response reaches Lint as the app made it,
  # so Lint keeps checking ordinary requests, and an upgrade the server will not perform too.
  module LintUpgrades
    # Middleware between a Rack::Lint and the app it checks. Runs on the worker thread that
    # calls the app.
    class UpgradeStatus
      SENT_STATUS = { websocket: 101, sse: 200 }.freeze

      def initialize(app)
        @app = app
      end

      # The same rule the server applies: rack.upgrade set, an upgradeable request and a status
      # below 300 mean an upgrade (a status of 300 or more refuses it and is sent as it is).
      def call(env)
        response = @app.call(env)
        status = response[0] if response.is_a?(Array)
        return response unless status.is_a?(Integer) && status < 300 && env["rack.upgrade"]

        sent = SENT_STATUS[env["rack.upgrade?"]]
        sent ? [sent, response[1], response[2]] : response
      end
    end

    # Longest middleware chain followed; deeper ones are left as they are.
    MAX_DEPTH = 64

    module_function

    # Walks app -> @app -> @app ... (how Rack middleware holds the next app) and puts an
    # UpgradeStatus inside each Rack::Lint found. Returns how many it adapted. Runs once, at
    # start, on the thread that starts the server.
    def install(app)
      return 0 unless defined?(::Rack::Lint) && !::Rack.autoload?(:Lint)

      adapted = 0
      seen = {}.compare_by_identity
      node = app
      MAX_DEPTH.times do
        break if node.nil? || seen[node] || !node.instance_variable_defined?(:@app)

        seen[node] = true
        inner = node.instance_variable_get(:@app)
        if node.is_a?(::Rack::Lint) && !inner.is_a?(UpgradeStatus) && !node.frozen?
          node.instance_variable_set(:@app, UpgradeStatus.new(inner))
          adapted += 1
        end
        node = inner
      end
      adapted
    end
  end
end
