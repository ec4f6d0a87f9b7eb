# frozen_string_literal: true

require "json"

# `adapter: piston` across processes: spec/fixtures/cable_app on bin/piston --redis, where what
# another process publishes to Redis (another Piston, or ActionCable's own redis adapter: the
# payload is the broadcast's JSON, the channel its name) reaches this process's subscribers.
RSpec.describe "ActionCable's piston adapter with Redis, on bin/piston",
               rack: PistonSpec::RailsApp::RACK, timeout: 120 do
  rails_deps = PistonSpec::RailsApp::DEPS

  before(:all) do
    skip "no #{rails_deps}: run bin/setup" unless File.file?(rails_deps)
    skip "no node or node_modules/@rails/actioncable: run bin/setup" unless CableClient.usable?
    skip "no redis-server" unless PistonSpec::RedisServer.available?

    @redis = PistonSpec::RedisServer.start
    rubylib = [*File.readlines(rails_deps, chomp: true), *ENV["RUBYLIB"].to_s.split(File::PATH_SEPARATOR)]
    @server = PistonSpec::Cli.start(File.join(PistonSpec::Cli::ROOT, "spec", "fixtures", "cable_app", "config.ru"),
                                    args: ["--redis", @redis.url], timeout: 120,
                                    env: { "RUBYLIB" => rubylib.join(File::PATH_SEPARATOR), "CABLE_ADAPTER" => "piston" })
    @server.owner = self.class
  end

  after(:all) { @redis&.stop }
  after { @client&.stop }

  let(:server) { @server }

  def client
    @client ||= begin
      cookie = RawHttp.get(server.host, server.port, "/login?user=alice").headers["set-cookie"][/\Auser=[^;]+/]
      CableClient.start("ws://127.0.0.1:#{server.port}/cable",
                        headers: { "Origin" => "http://127.0.0.1:#{server.port}", "Cookie" => cookie })
    end
  end

  it "delivers what another process publishes to Redis, to default and block streams" do
    client.subscribe("echo", channel: "EchoChannel")
    client.subscribe("shout", channel: "ShoutChannel")
    %w[echo shout].each { |key| client.wait_for("connected", key: key) }
    @redis.wait_for_subscribers("echo", 1)

    @redis.command("PUBLISH", "echo", JSON.generate(text: "from another process"))
    # The two streams are written by different paths (Java for the default stream, the block on a
    # worker), so either may arrive first.
    received = client.events_within(3).select { |e| e["event"] == "received" }
    expect(received.to_h { |e| [e["key"], e["data"]] })
      .to eq("echo" => { "text" => "from another process" }, "shout" => { "text" => "FROM ANOTHER PROCESS" })
  end

  it "broadcasts through Redis and delivers each broadcast once" do
    client.subscribe("echo", channel: "EchoChannel")
    client.wait_for("connected", key: "echo")
    @redis.wait_for_subscribers("echo", 1)

    expect(RawHttp.get(server.host, server.port, "/broadcast?stream=echo&text=once").status).to eq(200)
    expect(client.wait_for("received", key: "echo")["data"]).to eq("text" => "once")
    expect(client.events_within(1).select { |e| e["event"] == "received" }).to be_empty
    expect(JSON.parse(RawHttp.get(server.host, server.port, "/stats").body))
      .to include("rails" => start_with(PistonSpec::RailsApp::VERSION),
                  "adapter" => "ActionCable::SubscriptionAdapter::Piston", "nio" => false)
  end
end
