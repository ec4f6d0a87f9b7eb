# frozen_string_literal: true

require "spec_helper"

# Backpressure an app can see: pending counts the writes not yet flushed, and on_drained runs
# once they have all gone out, so a producer can pause instead of being closed as slow.
module UpgradeDrainedSpec
  EVENTS = Queue.new
  CHUNK = ("x" * 32_768).freeze

  # Writes until the queue backs up (the kernel's loopback buffers alone can take several MB,
  # hence the high cap), then waits for on_drained before writing the last message.
  # The lock orders the producer's "backed up" against on_drained: the queue may drain between
  # the producer's last look at pending and its flag, and that on_drained must not be missed.
  # on_drained also runs whenever the queue empties after the app saw pending > 0, so one that
  # finds writes still pending is ignored: looking at pending arms the next one.
  class Producer
    def on_open(client)
      @lock = Mutex.new
      Thread.new do
        sent = 0
        loop do
          break unless client.write(CHUNK)

          sent += 1
          backed_up = @lock.synchronize do
            seen = client.pending
            @backed_up = seen >= 20 || sent >= 1000
            EVENTS << [:backed_up, seen, sent] if @backed_up
            @backed_up
          end
          break if backed_up
        end
      end
    end

    def on_drained(client)
      @lock.synchronize do
        return unless @backed_up && !@done
        return unless (left = client.pending).zero?

        @done = true
        EVENTS << [:drained, left]
      end
      client.write("done")
    end
  end

  APP = lambda do |env|
    env["rack.upgrade"] = Producer.new if env["rack.upgrade?"] == :websocket
    [0, {}, []]
  end
end

RSpec.describe "pending and on_drained" do
  before(:all) { @server = serve(UpgradeDrainedSpec::APP, max_outbound_bytes: 64 * 1024 * 1024) }

  def event
    Timeout.timeout(10) { UpgradeDrainedSpec::EVENTS.pop }
  end

  it "counts queued writes while the client does not read, then calls on_drained when it catches up" do
    UpgradeDrainedSpec::EVENTS.clear
    ws = RawWebSocket.connect("127.0.0.1", @server.port, "/", timeout: 10)
    kind, pending, sent = event
    expect(kind).to eq(:backed_up)
    expect(pending).to be >= 20
    expect(sent).to be < 1000

    received = 0
    message = nil
    Timeout.timeout(20) do
      loop do
        message = ws.read_data
        break if message == "done"

        received += 1
      end
    end
    expect(received).to eq(sent)
    kind, pending_then = event
    expect(kind).to eq(:drained)
    expect(pending_then).to eq(0)
  ensure
    ws&.close_socket
  end
end
