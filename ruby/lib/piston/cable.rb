# frozen_string_literal: true

module Piston
  # ActionCable on Piston's WebSocket core. When a Piston server starts in a process that has
  # loaded ActionCable, ActionCable's connections take rack.upgrade instead of rack.hijack: frames
  # are parsed and written in Java, each connection's callbacks (connect, channel commands,
  # disconnect) run in order on Piston's worker threads, and nothing needs nio4r, websocket-driver
  # on the data path, or a Ruby event loop thread. PISTON_ACTION_CABLE=hijack keeps ActionCable's
  # own hijack path instead.
  #
  # What changes inside ActionCable, each a small prepended module:
  # - ActionCable::Connection::WebSocket takes a Piston::Cable::ClientSocket (the rack.upgrade handler);
  # - ActionCable::Server::Base gets a Piston::Cable::EventLoop (no StreamEventLoop, no nio4r) and
  #   a heartbeat whose ping is encoded once and written to every connection from Java;
  # - ActionCable::Channel::Base streams a broadcasting straight from Piston's pub/sub when the
  #   `piston` subscription adapter carries it and every subscriber gets the same bytes
  #   (ActionCable::SubscriptionAdapter::Piston), and sends a subscription's confirmation once.
  module Cable
    # Piston::Server#start calls it, on the thread that starts the server, once ActionCable is loaded.
    def self.install
      return if @installed || ENV["PISTON_ACTION_CABLE"] == "hijack"

      require "piston/cable/client_socket"
      require "piston/cable/event_loop"
      require "piston/cable/heartbeat"
      require "piston/cable/direct_stream"
      require "piston/cable/confirmation"
      ::ActionCable::Connection::WebSocket.prepend(ClientSocket::Selection)
      ::ActionCable::Server::Base.prepend(EventLoop::ForServer)
      ::ActionCable::Channel::Base.prepend(DirectStream::ForChannel)
      ::ActionCable::Channel::Base.prepend(Confirmation::Once)
      @installed = true
    end
  end
end
