# frozen_string_literal: true

module Piston
  module Cable
    # What ActionCable's server asks of its event loop when Piston carries the sockets: run a
    # task soon (#post: subscribing streams, the async adapter's deliveries) and every few seconds
    # (#timer: the heartbeat). Posted tasks run one at a time, in order, on Piston's pub/sub
    # threads, which exist only while there is work: no selector thread, no nio4r. Any thread.
    class EventLoop
      def initialize(logger)
        @logger = logger
        @queue = Java::IoPistonUpgrade::CallbackPool.newSerialQueue
      end

      def post(task = nil, &block)
        task ||= block
        @queue.execute { run(task) }
      end

      # Concurrent::TimerTask waits between runs (as ActionCable's own event loop does).
      def timer(interval, &block)
        Concurrent::TimerTask.new(execution_interval: interval, &block).tap(&:execute)
      end

      private

      def run(task)
        task.call
      rescue Exception => e # as ActionCable's workers do: log it, keep going
        @logger.error "There was an exception - #{e.class}(#{e.message})"
        @logger.error e.backtrace.join("\n")
      end

      # Prepended to ActionCable::Server::Base.
      module ForServer
        def event_loop
          @piston_event_loop || @mutex.synchronize { @piston_event_loop ||= EventLoop.new(logger) }
        end

        # ActionCable keeps its open connections in a plain Array that #add_connection and
        # #remove_connection change from the thread that opens or closes each one. Piston runs
        # different connections' callbacks on different worker threads at once, and a JRuby Array
        # changed from two threads raises ConcurrencyError (the closing connection then stays in
        # the list): a synchronized Array instead.
        def connections
          @connections || @mutex.synchronize { @connections ||= Concurrent::Array.new }
        end

        # ActionCable calls it on every request, and sets the timer up with an unguarded ||=:
        # a fresh server's first connections, opened at once on several worker threads, each
        # started a timer of their own, and every client got each ping several times.
        def setup_heartbeat_timer
          @heartbeat_timer || @mutex.synchronize do
            @heartbeat_timer ||= event_loop.timer(::ActionCable::Server::Connections::BEAT_INTERVAL) { Heartbeat.beat }
          end
        end
      end
    end
  end
end
