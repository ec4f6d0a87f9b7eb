# Mixed load for bench/soak.sh, on one server:
#   GET /                         a short text answer (wrk, churn)
#   GET /ws (WebSocket)           echo: every message is written back to its sender
#   GET /sub (WebSocket)          subscribes to :soak, then writes "ready"
#   GET /sse (SSE)                subscribes to :soak: each publish arrives as an event
#   GET /publish?count=K&size=S   publishes K messages of S bytes to :soak
class Echo
  def on_message(client, data)
    client.write(data)
  end
end

class Subscriber
  def on_open(client)
    client.subscribe(:soak)
    client.write("ready")
  end
end

ECHO = Echo.new
SUBSCRIBER = Subscriber.new
HELLO = [200, { "content-type" => "text/plain" }, ["soak\n"]].freeze
NOT_FOUND = [404, { "content-type" => "text/plain" }, ["not found\n"]].freeze

run lambda { |env|
  case env["PATH_INFO"]
  when "/ws"
    return NOT_FOUND unless env["rack.upgrade?"] == :websocket

    env["rack.upgrade"] = ECHO
    [0, {}, []]
  when "/sub", "/sse"
    return NOT_FOUND unless env["rack.upgrade?"]

    env["rack.upgrade"] = SUBSCRIBER
    [env["rack.upgrade?"] == :sse ? 200 : 0, {}, []]
  when "/publish"
    query = env["QUERY_STRING"].to_s
    count = Integer(query[/(?:\A|&)count=(\d+)/, 1] || "1")
    message = "x" * Integer(query[/(?:\A|&)size=(\d+)/, 1] || "64")
    count.times { Piston.publish(:soak, message) }
    [200, { "content-type" => "text/plain" }, ["published #{count}\n"]]
  else
    HELLO
  end
}
