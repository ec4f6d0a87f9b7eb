# frozen_string_literal: true

# Captures what the Java core logs (Piston's own log lines) while a block runs.
module LogCapture
  def capture_log
    bytes = java.io.ByteArrayOutputStream.new
    Java::IoPistonServer::Log.setStream(java.io.PrintStream.new(bytes, true, "UTF-8"))
    yield
    sleep 0.2 # lines logged by worker threads just after the response
    bytes.toString("UTF-8")
  ensure
    Java::IoPistonServer::Log.setStream(java.lang.System.err)
  end
end

RSpec.configure { |c| c.include LogCapture }
