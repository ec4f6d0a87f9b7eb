# frozen_string_literal: true

module Piston
  module Cable
    # One ActionCable connection's WebSocket, as the rack.upgrade handler Piston drives: it stands
    # where ActionCable's hijacking ClientSocket (websocket-driver over nio4r) would. Piston calls
    # its on_* callbacks one at a time, in order, on a Ruby worker thread; each hands over to the
    # ActionCable::Connection (its handle_open, dispatch_websocket_message, handle_close) through
    # the connection's worker pool #invoke, which wraps the work in the Rails executor right there
    # on that thread instead of queueing it for ActionCable's own threads. transmit and close may
    # be called from any thread.
    class ClientSocket
      CONNECTING = 0
      OPEN       = 1
      CLOSING    = 2
      CLOSED     = 3

      # The Piston::Connection, once the WebSocket is open.
      attr_reader :client, :env, :protocol

      def initialize(env, connection, protocols)
        @env = env
        @connection = connection
        @protocol = chosen_protocol(env, protocols)
        @client = nil
        @ready_state = CONNECTING
      end

      # The response ActionCable answers the upgrade request with: Piston sends the 101 with the
      # chosen sub-protocol and takes the connection.
      def rack_response
        @env["rack.upgrade"] = self
        [101, @protocol ? { "sec-websocket-protocol" => @protocol } : {}, []]
      end

      def alive?
        @ready_state == OPEN
      end

      def transmit(message)
        return false unless alive?

        case message
        when Numeric then @client.write(message.to_s)
        when String then @client.write(message)
        when Array then @client.write(message.pack("C*"))
        else false
        end
      end

      def close
        @ready_state = CLOSING if @ready_state <= OPEN
        @client&.close
      end

      def on_open(client)
        @client = client
        @ready_state = OPEN
        run(:handle_open)
        Heartbeat.follow(client) if alive? # not rejected by connect
      end

      def on_message(_client, data)
        run(:dispatch_websocket_message, data) if alive?
      end

      # The server is stopping: tell the client to come back (to the next server) before it closes.
      def on_shutdown(_client)
        @connection.close(reason: ::ActionCable::INTERNAL[:disconnect_reasons][:server_restart]) if alive?
      end

      def on_close(_client)
        @ready_state = CLOSED
        run(:handle_close)
      end

      private

      def run(method, *arguments)
        @connection.worker_pool.invoke(@connection, method, *arguments, connection: @connection)
      end

      # The first sub-protocol the client offers that ActionCable speaks, as websocket-driver picks it.
      def chosen_protocol(env, protocols)
        offered = env["HTTP_SEC_WEBSOCKET_PROTOCOL"].to_s.split(/ *, */)
        offered.find { |p| protocols.include?(p) }
      end

      # Prepended to ActionCable::Connection::WebSocket: its socket is a ClientSocket, or none (the
      # request is answered 404) when the request cannot become a WebSocket.
      module Selection
        def initialize(env, event_target, _event_loop, protocols: ::ActionCable::INTERNAL[:protocols])
          @websocket = (ClientSocket.new(env, event_target, protocols) if env["rack.upgrade?"] == :websocket)
        end
      end
    end
  end
end
