# frozen_string_literal: true

# Captures what the Java core logs (Piston's own log lines) while a block runs.
module LogCapture
  def capture_log
    bytes = java.io.ByteArrayOutputStream.new
    Java::IoPistonLog::Log.setStream(java.io.PrintStream.new(bytes, true, "UTF-8"))
    yield
    sleep 0.2 # lines logged by worker threads just after the response
    bytes.toString("UTF-8")
  ensure
    Java::IoPistonLog::Log.setStream(java.lang.System.err)
  end
end

# Captures the warnings and errors Netty logs itself (through java.util.logging), such as an
# exception thrown by a task on an IO thread, while a block runs.
module NettyLogCapture
  # Keeps the WARNING and SEVERE records of Netty's loggers as one line each.
  class Handler < java.util.logging.Handler
    attr_reader :lines

    def initialize
      super()
      @lines = java.util.concurrent.ConcurrentLinkedQueue.new
    end

    def publish(record)
      return if record.level.int_value < java.util.logging.Level::WARNING.int_value
      return unless record.logger_name.to_s.include?(".netty.")

      thrown = record.thrown
      # where in Piston's own code it was thrown, past Netty's frames
      at = thrown&.stack_trace&.find { |f| f.class_name.start_with?("io.piston.") && !f.class_name.include?(".shaded.") }
      @lines.add("#{record.level} #{record.logger_name}: #{record.message} #{thrown&.to_string} #{"at #{at}" if at}".strip)
    end

    def flush; end

    def close; end
  end

  # [the block's value, [lines]]
  def capture_netty_warnings
    handler = Handler.new
    root = java.util.logging.Logger.get_logger("")
    root.add_handler(handler)
    [yield, handler.lines.to_a]
  ensure
    root&.remove_handler(handler)
  end
end

RSpec.configure do |c|
  c.include LogCapture
  c.include NettyLogCapture
end
