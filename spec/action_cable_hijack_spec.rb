# frozen_string_literal: true

require "json"

# PISTON_ACTION_CABLE=hijack keeps ActionCable's own path (rack.hijack, websocket-driver, nio4r's
# pure-Ruby selector) for apps that need it: spec/fixtures/cable_app on bin/piston, driven by the
# @rails/actioncable client.
RSpec.describe "ActionCable's own hijack path on bin/piston", rack: PistonSpec::RailsApp::RACK, timeout: 120 do
  rails_deps = PistonSpec::RailsApp::DEPS

  before(:all) do
    skip "no #{rails_deps}: run bin/setup" unless File.file?(rails_deps)
    skip "no node or node_modules/@rails/actioncable: run bin/setup" unless CableClient.usable?

    rubylib = [*File.readlines(rails_deps, chomp: true), *ENV["RUBYLIB"].to_s.split(File::PATH_SEPARATOR)]
    @server = PistonSpec::Cli.start(File.join(PistonSpec::Cli::ROOT, "spec", "fixtures", "cable_app", "config.ru"),
                                    timeout: 120,
                                    env: { "RUBYLIB" => rubylib.join(File::PATH_SEPARATOR), "CABLE_ADAPTER" => "async",
                                           "PISTON_ACTION_CABLE" => "hijack", "NIO4R_PURE" => "true" })
    @server.owner = self.class
  end

  after { @client&.stop }

  let(:server) { @server }

  def get(path)
    response = RawHttp.get(server.host, server.port, path)
    expect(response.status).to eq(200)
    response
  end

  it "connects, subscribes, performs and broadcasts through rack.hijack and nio4r" do
    cookie = get("/login?user=alice").headers["set-cookie"][/\Auser=[^;]+/]
    @client = CableClient.start("ws://127.0.0.1:#{server.port}/cable",
                                headers: { "Origin" => "http://127.0.0.1:#{server.port}", "Cookie" => cookie })
    @client.subscribe("echo", channel: "EchoChannel")
    @client.wait_for("connected", key: "echo")

    @client.perform("echo", "speak", text: "over hijack")
    expect(@client.wait_for("received", key: "echo")["data"]).to eq("text" => "over hijack", "from" => "alice")
    get("/broadcast?stream=echo&text=from+http")
    expect(@client.wait_for("received", key: "echo")["data"]).to eq("text" => "from http")

    stats = JSON.parse(get("/stats").body)
    expect(stats).to include("connections" => 1, "adapter" => "ActionCable::SubscriptionAdapter::Async", "nio" => true,
                             "event_loop" => "ActionCable::Connection::StreamEventLoop")
  end
end
