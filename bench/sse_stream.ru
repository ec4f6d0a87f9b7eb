# SSE streaming for bench/realtime.sh: each EventSource connection gets the same 64-byte event
# (BENCH_SIZE bytes) as fast as its bounded outbound queue takes it: a batch of writes, and when
# they are all queued still, on_drained (pending back to 0) writes the next batch.
SIZE = Integer(ENV.fetch("BENCH_SIZE", "64"))
EVENT = ("0000000000000000000 00000000 " + "x" * [SIZE - 29, 0].max).freeze
BATCH = 256

class Stream
  def on_open(client)
    fill(client)
  end

  def on_drained(client)
    fill(client)
  end

  private

  # Writes batches until some are still queued (then on_drained comes back) or the client is gone.
  # Plain loops: a block that returns from the method costs JRuby a scope per call, and this
  # benchmark measures the server, not that.
  def fill(client)
    while true
      i = 0
      while i < BATCH
        return unless client.write(EVENT)
        i += 1
      end
      return if client.pending != 0
    end
  end
end

STREAM = Stream.new
HELLO = [200, { "content-type" => "text/plain" }, ["sse\n"]].freeze

run lambda { |env|
  if env["rack.upgrade?"] == :sse
    env["rack.upgrade"] = STREAM
    [200, {}, []]
  else
    HELLO
  end
}
