# WebSocket echo for bench/realtime.sh: every message is written back to its sender.
# Plain HTTP requests get a short text answer (used to check the server is up).
class Echo
  def on_message(client, data)
    client.write(data)
  end
end

ECHO = Echo.new
HELLO = [200, { "content-type" => "text/plain" }, ["echo\n"]].freeze

run lambda { |env|
  if env["rack.upgrade?"] == :websocket
    env["rack.upgrade"] = ECHO
    [0, {}, []]
  else
    HELLO
  end
}
