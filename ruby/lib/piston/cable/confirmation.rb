# frozen_string_literal: true

module Piston
  module Cable
    # A subscription's confirmation goes out once. ActionCable sends it from whichever of two
    # threads finishes last, the worker that ran `subscribed` or the event loop thread that
    # subscribed its streams, and checks "already sent?" without a lock: when both finish at
    # once, both send it and the client's `connected` runs twice. Piston's event loop and
    # adapter are fast enough to make that common, so the check and the send are made one step.
    module Confirmation
      LOCK = Mutex.new

      # Prepended to ActionCable::Channel::Base.
      module Once
        private

        def transmit_subscription_confirmation
          LOCK.synchronize { super }
        end
      end
    end
  end
end
