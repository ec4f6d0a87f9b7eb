# frozen_string_literal: true

require "json"

# ActionCable over rack.upgrade: spec/fixtures/cable_app (Rails 6.1 or 7.2, `adapter: piston`)
# started with `bin/rails server -u piston` from the installed gem, driven by the @rails/actioncable
# client in Node (spec/support/cable_client.js) and, where the wire matters, by RawWebSocket.
RSpec.describe "ActionCable on the piston gem", rack: PistonSpec::RailsApp::RACK, timeout: 150 do
  rails_deps = PistonSpec::RailsApp::DEPS
  app_dir = File.join(PistonSpec::Cli::ROOT, "spec", "fixtures", "cable_app")

  before(:all) do
    skip "no #{rails_deps}: run bin/setup" unless File.file?(rails_deps)
    skip "no node or node_modules/@rails/actioncable: run bin/setup" unless CableClient.usable?

    @server = PistonSpec::RailsApp.start(app_dir, rails_deps)
    @server.owner = self.class
    # The fresh server's first cable connections, opened at once: each request asks ActionCable
    # to set its heartbeat timer up (see "pings each client once every 3 s").
    cookie = RawHttp.get(@server.host, @server.port, "/login?user=first").headers["set-cookie"][/\Auser=[^;]+/]
    @first_at_once = Array.new(12) do
      Thread.new do
        RawWebSocket.connect(@server.host, @server.port, "/cable", timeout: 30, protocols: "actioncable-v1-json",
                                                                   headers: { "Origin" => "http://127.0.0.1", "Cookie" => cookie })
      end
    end.map(&:value)
  end

  after { @clients&.each(&:stop) }

  let(:server) { @server }
  let(:origin) { "http://127.0.0.1:#{server.port}" }

  def get(path)
    response = RawHttp.get(server.host, server.port, path)
    expect(response.status).to eq(200)
    response
  end

  # A signed cookie for `user`, set by the app as a login page would.
  def login(user)
    get("/login?user=#{user}").headers["set-cookie"][/\Auser=[^;]+/]
  end

  def cable(user: "alice", origin: self.origin)
    headers = { "Origin" => origin }
    headers["Cookie"] = login(user) if user
    (@clients ||= []) << CableClient.start("ws://127.0.0.1:#{server.port}/cable", headers: headers)
    @clients.last
  end

  def subscribed(client, key, **params)
    client.subscribe(key, **params)
    client.wait_for("connected", key: key)
  end

  # A cable connection on a raw socket, subscribed to EchoChannel.
  def raw_echo_subscriber
    ws = RawWebSocket.connect(server.host, server.port, "/cable", timeout: 10, protocols: "actioncable-v1-json",
                                                                  headers: { "Origin" => "http://127.0.0.1", "Cookie" => login("raw") })
    identifier = JSON.generate(channel: "EchoChannel")
    ws.send_text(JSON.generate(command: "subscribe", identifier: identifier))
    loop { break if JSON.parse(ws.read_data)["type"] == "confirm_subscription" }
    ws
  end

  def stats
    JSON.parse(get("/stats").body)
  end

  # Seconds of CPU the server process used (user + system).
  def cpu_seconds
    File.read("/proc/#{server.pid}/stat").split(") ").last.split[11, 2].sum(&:to_i) / 100.0
  end

  def fds
    Dir.children("/proc/#{server.pid}/fd").size
  end

  it "pings each client once every 3 s, also when a fresh server's first connections came at once" do
    clock = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
    ws = @first_at_once.last
    pings = []
    deadline = clock.call + 7.5
    while (left = deadline - clock.call) > 0
      message = begin
        JSON.parse(ws.read_data(timeout: left))
      rescue RawWebSocket::Timeout
        break
      end
      pings << clock.call if message["type"] == "ping"
    end
    expect(pings.size).to be_between(2, 3)
    expect(pings.each_cons(2).map { |a, b| b - a }).to all(be > 2)
  ensure
    @first_at_once.each(&:close_socket)
  end

  it "connects over rack.upgrade with the signed cookie, in actioncable-v1-json, and pings every 3 s" do
    client = cable
    subscribed(client, "echo", channel: "EchoChannel")
    expect(client.events.first).to eq("event" => "upgrade", "protocol" => "actioncable-v1-json")
    expect(client.events.map { |e| e["event"] }).to include("welcome")
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    2.times { client.wait_for("ping", timeout: 5) }
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be_between(2.5, 8)

    expect(stats).to include("rails" => start_with(PistonSpec::RailsApp::VERSION),
                             "connections" => 1, "adapter" => "ActionCable::SubscriptionAdapter::Piston",
                             "event_loop" => "Piston::Cable::EventLoop", "nio" => false)
    expect(server.output).to include("Successfully upgraded to WebSocket", "Registered connection (alice)")
  end

  it "performs actions and delivers broadcasts to default, block and stream_for streams" do
    alice = cable
    bob = cable(user: "bob")
    subscribed(alice, "echo", channel: "EchoChannel")
    subscribed(alice, "shout", channel: "ShoutChannel")
    subscribed(alice, "room", channel: "RoomChannel", room: "r1")
    subscribed(bob, "echo", channel: "EchoChannel")

    alice.perform("echo", "whoami")
    expect(alice.wait_for("received", key: "echo")["data"]).to eq("user" => "alice")
    bob.perform("echo", "speak", text: "hello")
    expect(bob.wait_for("received", key: "echo")["data"]).to eq("text" => "hello", "from" => "bob")
    # Alice's default stream is written from Java, her block stream by a worker: either may come first.
    received = alice.events_within(3).select { |e| e["event"] == "received" }
    expect(received.to_h { |e| [e["key"], e["data"]] })
      .to eq("echo" => { "text" => "hello", "from" => "bob" }, "shout" => { "text" => "HELLO" })

    get("/broadcast?stream=echo&text=from+http")
    expect(bob.wait_for("received", key: "echo")["data"]).to eq("text" => "from http")
    get("/broadcast?room=r1&text=room+only")
    expect(alice.wait_for("received", key: "room")["data"]).to eq("text" => "room only")
    expect(bob.events_within(1).select { |e| e["event"] == "received" }).to be_empty

    alice.unsubscribe("echo")
    get("/broadcast?stream=echo&text=after")
    expect(bob.wait_for("received", key: "echo")["data"]).to eq("text" => "after")
    expect(alice.wait_for("received", key: "shout")["data"]).to eq("text" => "AFTER")
    expect(alice.events_within(0.5).select { |e| e["key"] == "echo" && e["event"] == "received" }).to be_empty
  end

  it "rejects a connection without the cookie, and a subscription its channel rejects" do
    stranger = cable(user: nil)
    stranger.subscribe("echo", channel: "EchoChannel")
    expect(stranger.wait_for("disconnect")).to include("reason" => "unauthorized", "reconnect" => false)

    client = cable
    client.subscribe("secret", channel: "SecretChannel")
    client.wait_for("rejected", key: "secret")
    expect(server.output).to include("An unauthorized connection attempt was rejected")
  end

  it "accepts the request origins allowed (same host, allowed_request_origins) and refuses the others" do
    expect { RawWebSocket.connect(server.host, server.port, "/cable", headers: { "Origin" => "http://evil.example" }) }
      .to raise_error(RawWebSocket::HandshakeError) { |e| expect(e.response.first).to eq(404) }
    expect(server.output).to include("Request origin not allowed: http://evil.example")

    ["http://allowed.example", "http://127.0.0.1"].each do |allowed|
      ws = RawWebSocket.connect(server.host, server.port, "/cable", headers: { "Origin" => allowed, "Cookie" => login("o") })
      expect(JSON.parse(ws.read_data)).to eq("type" => "welcome")
      ws.close(1000)
      ws.close_socket
    end
  end

  it "disconnects from the server: a channel action, remote_connections, and a restart the client comes back from" do
    alice = cable
    subscribed(alice, "echo", channel: "EchoChannel")
    alice.perform("echo", "leave")
    expect(alice.wait_for("disconnect")).to include("reason" => "leave", "reconnect" => false)

    bob = cable(user: "bob")
    subscribed(bob, "echo", channel: "EchoChannel")
    get("/disconnect?user=bob")
    expect(bob.wait_for("disconnected", key: "echo")).to include("willAttemptReconnect" => true)

    carol = cable(user: "carol")
    subscribed(carol, "echo", channel: "EchoChannel")
    get("/restart")
    expect(carol.wait_for("disconnect")).to include("reason" => "server_restart", "reconnect" => true)
    carol.wait_for("connected", key: "echo", timeout: 20) # the client reconnects by itself
    get("/broadcast?stream=echo&text=back")
    expect(carol.wait_for("received", key: "echo")["data"]).to eq("text" => "back")
  end

  it "holds one fd per connection and idles without a spinning thread once the clients left" do
    before = fds
    sockets = Array.new(40) { raw_echo_subscriber }
    expect(fds - before).to be_between(35, 50) # a hijacked connection held 3 (its socket pair)
    get("/broadcast?stream=echo&text=all")
    sockets.each do |ws|
      message = JSON.parse(ws.read_data)
      message = JSON.parse(ws.read_data) while message["type"] == "ping"
      expect(message).to include("message" => { "text" => "all" })
    end
    sockets.each(&:close_socket)

    sleep 3 # the closes settle
    cpu = cpu_seconds
    sleep 6
    expect((cpu_seconds - cpu) / 6).to be < 0.1 # of one core
    expect(fds).to be <= before + 2
  end

  it "forgets every connection that closes, also when many close at once" do
    before = stats["connections"]
    sockets = Array.new(120) { raw_echo_subscriber }
    expect(stats["connections"]).to eq(before + 120)
    sockets.each(&:close_socket)

    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 20
    sleep 0.2 until stats["connections"] == before || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    expect(stats["connections"]).to eq(before)
    expect(server.output).not_to include("ConcurrencyError")
  end

  it "tells clients to reconnect elsewhere when it stops gracefully" do
    client = cable
    subscribed(client, "echo", channel: "EchoChannel")
    server.signal("INT")
    expect(client.wait_for("disconnect")).to include("reason" => "server_restart", "reconnect" => true)
    expect(server.wait(30)).not_to be_nil
  end
end
