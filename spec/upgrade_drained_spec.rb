# frozen_string_literal: true

require "spec_helper"

# Backpressure an app can see: pending counts the writes not yet flushed, and on_drained runs
# once they have all gone out, so a producer can pause instead of being closed as slow.
module UpgradeDrainedSpec
  EVENTS = Queue.new
  CHUNK = ("x" * 32_768).freeze

  # Writes until the queue backs up (the kernel's loopback buffers alone can take several MB,
  # hence the high cap), then waits for on_drained before writing the last message.
  # (on_drained may also run earlier, whenever the queue empties after the app saw pending > 0.)
  class Producer
    def on_open(client)
      Thread.new do
        sent = 0
        seen = 0 # pending as the loop saw it: it keeps falling while the socket drains
        loop do
          break unless client.write(CHUNK)

          sent += 1
          seen = client.pending
          break if seen >= 20 || sent >= 1000
        end
        @backed_up = true
        EVENTS << [:backed_up, seen, sent]
      end
    end

    def on_drained(client)
      return unless @backed_up && !@done

      @done = true
      EVENTS << [:drained, client.pending]
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
