# frozen_string_literal: true

require "piston/cable/direct_stream"

module Piston
  module Cable
    # This process's subscribers of one ActionCable broadcasting, fed by one subscription to the
    # Piston pub/sub channel of that name (so with Redis a broadcast in any process arrives here
    # once). Each message runs #onMessage once, one at a time on a Piston pub/sub thread: the
    # callbacks of ActionCable streams with a block or coder of their own (and of connections'
    # internal channels) get the payload, and for each channel identifier with direct streams
    # the frame is encoded once and handed to Piston, which writes it to all of their
    # connections from the IO threads. #add and #remove run under the adapter's lock; the lists
    # they replace are read without one.
    class Relay
      include Java::IoPistonPubsub::MessageListener

      BROKER = Java::IoPistonPubsub::PubSubBroker.get

      def initialize(channel, logger)
        @channel = channel
        @logger = logger
        @callbacks = [].freeze
        @direct = {}.freeze # identifier => [its Piston channel, number of streams]
        @subscription = Java::IoPistonPubsub::Subscription.listening(
          channel, false, self, Java::IoPistonUpgrade::CallbackPool.newSerialQueue
        )
      end

      def start
        BROKER.add(@subscription)
        self
      end

      def stop
        BROKER.remove(@subscription)
      end

      def empty?
        @callbacks.empty? && @direct.empty?
      end

      def add(subscriber)
        return @callbacks = [*@callbacks, subscriber].freeze unless subscriber.is_a?(DirectStream)

        name, count = @direct.fetch(subscriber.identifier) { [DirectStream.channel_for(@channel, subscriber.identifier), 0] }
        subscriber.client.subscribe(name)
        @direct = @direct.merge(subscriber.identifier => [name, count + 1]).freeze
      end

      def remove(subscriber)
        return @callbacks = @callbacks.reject { |c| c.equal?(subscriber) }.freeze unless subscriber.is_a?(DirectStream)

        name, count = @direct[subscriber.identifier]
        return unless name

        subscriber.client.unsubscribe(name)
        @direct = (count > 1 ? @direct.merge(subscriber.identifier => [name, count - 1]) : @direct.except(subscriber.identifier)).freeze
      end

      # Piston pub/sub thread, one message of this broadcasting at a time.
      def onMessage(message)
        payload = String.from_java_bytes(message.data)
        payload.force_encoding(Encoding::UTF_8) unless message.binary
        @callbacks.each { |callback| guarded { callback.call(payload) } }
        guarded { deliver_frames(payload) } unless @direct.empty?
      end

      private

      # What ActionCable's default stream transmits (the connection's coder encoding the
      # identifier and the decoded message), once per identifier instead of once per subscriber.
      def deliver_frames(payload)
        message = ActiveSupport::JSON.decode(payload)
        @direct.each do |identifier, (name, _)|
          frame = ActiveSupport::JSON.encode(identifier: identifier, message: message)
          BROKER.deliverChannel(name, frame.to_java_bytes, false)
        end
      end

      def guarded
        yield
      rescue Exception => e # as ActionCable's workers do: log it, keep going
        @logger.error "There was an exception - #{e.class}(#{e.message})"
        @logger.error e.backtrace.join("\n")
      end
    end
  end
end
