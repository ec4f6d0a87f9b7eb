# frozen_string_literal: true

require "piston"
require "piston/cable/relay"

module ActionCable
  module SubscriptionAdapter
    # `adapter: piston` in config/cable.yml: broadcasts travel over Piston's pub/sub, in this
    # process or, when Piston runs with --redis (PISTON_REDIS_URL), through Redis to every
    # process. A broadcast is published once; each process relays it to its own subscribers
    # (Piston::Cable::Relay), writing default streams from Java without Ruby per subscriber.
    # channel_prefix from cable.yml prefixes broadcastings as with the redis adapter. Any thread.
    class Piston < Base
      prepend ChannelPrefix

      def initialize(*)
        super
        @relays = {}
        @lock = Mutex.new
      end

      def broadcast(channel, payload)
        ::Piston.publish(channel, payload)
      end

      def subscribe(channel, callback, success_callback = nil)
        @lock.synchronize do
          (@relays[channel] ||= ::Piston::Cable::Relay.new(channel, logger).start).add(callback)
        end
        success_callback&.call
      end

      def unsubscribe(channel, callback)
        @lock.synchronize do
          relay = @relays[channel]
          next unless relay

          relay.remove(callback)
          @relays.delete(channel).stop if relay.empty?
        end
      end

      def shutdown
        @lock.synchronize { @relays.each_value(&:stop).clear }
      end
    end
  end
end
