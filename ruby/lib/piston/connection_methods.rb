# frozen_string_literal: true

module Piston
  # The connection methods of a rack.upgrade handler written in the self style (the article's
  # `on_message(data)` calling `write` on itself). Piston includes this module once into the
  # handler's class when one of its callbacks takes no client argument; each method hands over to
  # the handler's Piston::Connection. The handler's own methods of the same names win.
  module ConnectionMethods
    def write(data)
      Piston::Connection.for(self).write(data)
    end

    def write_sse(data = nil, **fields)
      Piston::Connection.for(self).write_sse(data.nil? ? fields : fields.merge(data: data))
    end

    def close
      Piston::Connection.for(self).close
    end

    def open?
      Piston::Connection.for(self).open?
    end

    def pending
      Piston::Connection.for(self).pending
    end

    def env
      Piston::Connection.for(self).env
    end

    def protocol
      Piston::Connection.for(self).protocol
    end

    def timeout
      Piston::Connection.for(self).timeout
    end

    def timeout=(seconds)
      Piston::Connection.for(self).timeout = seconds
    end

    def handler
      Piston::Connection.for(self).handler
    end

    def handler=(new_handler)
      Piston::Connection.for(self).handler = new_handler
    end

    def subscribe(channel, *options, &block)
      Piston::Connection.for(self).subscribe(channel, *options, &block)
    end

    def unsubscribe(channel, *options)
      Piston::Connection.for(self).unsubscribe(channel, *options)
    end

    def publish(channel, message, *options)
      Piston::Connection.for(self).publish(channel, message, *options)
    end

    def pubsub?
      true
    end
  end
end
