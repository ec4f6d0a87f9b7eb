# frozen_string_literal: true

module Piston
  module Cable
    # A channel subscription's stream_from whose messages go to the client without Ruby: when the
    # channel streams with ActionCable's default handler (no block, JSON coder) every subscriber
    # of one channel identifier gets the same bytes, so Piston::Cable::Relay encodes the frame once
    # per identifier and Piston's pub/sub writes it to each subscribed connection from its IO
    # thread. Holds the connection's Piston::Connection and the subscription's identifier.
    class DirectStream
      attr_reader :client, :identifier

      def initialize(client, identifier)
        @client = client
        @identifier = identifier
      end

      # The channel of this process that carries the frames of one broadcasting for one identifier.
      def self.channel_for(broadcasting, identifier)
        "action_cable/piston/#{identifier}/#{broadcasting}"
      end

      # Methods that shape what a default stream transmits, and where ActionCable defines them: a
      # channel or connection class that redefines one gets ActionCable's per-subscriber path.
      CHANNEL_METHODS = {
        transmit: ::ActionCable::Channel::Base,
        stream_handler: ::ActionCable::Channel::Streams,
        default_stream_handler: ::ActionCable::Channel::Streams,
        stream_decoder: ::ActionCable::Channel::Streams,
        stream_transmitter: ::ActionCable::Channel::Streams
      }.freeze
      CONNECTION_METHODS = { transmit: ::ActionCable::Connection::Base, encode: ::ActionCable::Connection::Base }.freeze

      # The Piston::Connection under an ActionCable connection, or nil (not served by Piston, not open).
      def self.client_of(connection)
        socket = connection.env["rack.upgrade"] if connection.respond_to?(:env)
        socket.client if socket.is_a?(ClientSocket)
      end

      def self.default_transmit?(channel_class, connection_class)
        CHANNEL_METHODS.all? { |name, owner| channel_class.instance_method(name).owner == owner } &&
          CONNECTION_METHODS.all? { |name, owner| connection_class.instance_method(name).owner == owner }
      end

      # Prepended to ActionCable::Channel::Base: a default stream on the piston adapter is direct.
      # Runs where the channel's stream_from runs (the worker serving a subscribe command).
      module ForChannel
        private

        def worker_pool_stream_handler(broadcasting, user_handler, coder: nil)
          client = DirectStream.client_of(connection)
          direct = client && user_handler.nil? && (coder.nil? || coder == ActiveSupport::JSON) &&
                   defined?(::ActionCable::SubscriptionAdapter::Piston) &&
                   pubsub.is_a?(::ActionCable::SubscriptionAdapter::Piston) &&
                   DirectStream.default_transmit?(self.class, connection.class)
          direct ? DirectStream.new(client, @identifier) : super
        end
      end
    end
  end
end
