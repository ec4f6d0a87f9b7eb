# Pub/sub fan-out for bench/realtime.sh.
#   GET /sub (WebSocket)           subscribes the connection to :bench, then writes "ready"
#   GET /publish?count=K&size=S[&rate=R]
#                                  publishes K messages of S bytes with Piston.publish, on the
#                                  worker thread serving this request (all at once, or R per
#                                  second on a fixed schedule), then answers 200
# Each message starts with its publish time (System.nanoTime, 19 digits) and its sequence
# number, the layout io.piston.bench.Payload reads.
require "java"

class Subscriber
  def on_open(client)
    client.subscribe(:bench)
    client.write("ready")
  end
end

SUBSCRIBER = Subscriber.new
NOT_FOUND = [404, { "content-type" => "text/plain" }, ["not found\n"]].freeze
HELLO = [200, { "content-type" => "text/plain" }, ["pubsub\n"]].freeze

# With a rate, message seq leaves at start + seq / rate: a late one does not delay the schedule.
def publish_burst(count, size, rate)
  pad = "x" * [size - 29, 0].max
  start = java.lang.System.nano_time
  count.times do |seq|
    if rate.positive?
      wait = start + (seq * 1e9 / rate) - java.lang.System.nano_time
      sleep(wait / 1e9) if wait.positive?
    end
    Piston.publish(:bench, format("%019d %08d %s", java.lang.System.nano_time, seq, pad))
  end
end

run lambda { |env|
  case env["PATH_INFO"]
  when "/sub"
    return NOT_FOUND unless env["rack.upgrade?"] == :websocket
    env["rack.upgrade"] = SUBSCRIBER
    [0, {}, []]
  when "/publish"
    query = env["QUERY_STRING"].to_s
    count = Integer(query[/(?:\A|&)count=(\d+)/, 1] || "1")
    publish_burst(count, Integer(query[/(?:\A|&)size=(\d+)/, 1] || "64"), Float(query[/(?:\A|&)rate=([\d.]+)/, 1] || "0"))
    [200, { "content-type" => "text/plain" }, ["published #{count}\n"]]
  else
    HELLO
  end
}
