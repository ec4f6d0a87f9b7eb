# frozen_string_literal: true

module Piston
  module Cable
    # ActionCable's ping every 3 seconds, written to every open connection of this process from
    # Piston's IO threads: encoded once per beat, with no Ruby call per connection (ActionCable's
    # own heartbeat transmits to each connection in turn). The timer thread beats; connections
    # follow from their on_open.
    module Heartbeat
      # A channel of this process only: beats are delivered here, never published to other processes.
      CHANNEL = "action_cable/piston/heartbeat"

      def self.follow(client)
        client.subscribe(CHANNEL)
      end

      def self.beat
        ping = ActiveSupport::JSON.encode(type: ::ActionCable::INTERNAL[:message_types][:ping], message: Time.now.to_i)
        Java::IoPistonPubsub::PubSubBroker.get.deliverChannel(CHANNEL, ping.to_java_bytes, false)
      end
    end
  end
end
