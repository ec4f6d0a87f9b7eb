# frozen_string_literal: true

require "json"

# examples/rails booted with `bin/rails server -u piston` (rack 2.2's handler lookup on Rails 6.1,
# rackup 2's on Rails 7.2), Piston from the installed gem, Rails from Debian's packages made
# loadable by bin/setup (PistonSpec::RailsApp::DEPS). Rails 6.1 needs rack 2, so it runs on the
# Rack 2.2 run; Rails 7.2 on the Rack 3.1 run of `bin/test --rails72`.
RSpec.describe "examples/rails on the piston gem", rack: PistonSpec::RailsApp::RACK, timeout: 150 do
  rails_deps = PistonSpec::RailsApp::DEPS

  before(:all) do
    skip "no #{rails_deps}: run bin/setup" unless File.file?(rails_deps)

    @server = PistonSpec::RailsApp.start(File.join(PistonSpec::Cli::ROOT, "examples", "rails"), rails_deps)
    @server.owner = self.class
  end

  let(:server) { @server }

  it "serves a page and JSON" do
    page = RawHttp.get(server.host, server.port, "/")
    expect(page.status).to eq(200)
    expect(page.body).to include("on Piston")
    status = JSON.parse(RawHttp.get(server.host, server.port, "/status").body)
    expect(status).to include("rails" => start_with(PistonSpec::RailsApp::VERSION), "server" => "piston")
    expect(server.output).to include("Booting Piston", "Transport: #{PistonSpec::TRANSPORT}")
  end

  it "upgrades a controller action to WebSocket and to SSE" do
    ws = RawWebSocket.connect(server.host, server.port, "/clock")
    ws.send_text("hi")
    # The clock writes every second meanwhile: how many ticks come first depends on the load.
    messages = []
    messages << ws.read_message.first until messages.include?("echo: hi") || messages.size >= 10
    expect(messages).to include("echo: hi")
    ws.close(1000)

    RawHttp.open(server.host, server.port, timeout: 10) do |http|
      http.request("GET /clock HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
      expect(http.read_head["content-type"]).to start_with("text/event-stream")
      text = +""
      text << (http.read_partial || break) until text.include?("\n\n")
      expect(text).to match(/data: \d{4}-\d\d-\d\dT/)
    end
  ensure
    ws&.close_socket
  end

  it "runs an ActionCable channel" do
    # Over rack.upgrade (Piston::Cable); spec/gem_action_cable_spec.rb covers the rest.
    ws = RawWebSocket.connect(server.host, server.port, "/cable", timeout: 10,
                              headers: { "Origin" => "http://127.0.0.1" }, protocols: "actioncable-v1-json")
    expect(ws.headers["sec-websocket-protocol"]).to eq("actioncable-v1-json")
    cable = lambda do # the next message that is not a ping
      loop do
        message = JSON.parse(ws.read_data)
        break message unless message["type"] == "ping"
      end
    end
    expect(cable.call).to eq("type" => "welcome")
    identifier = JSON.generate(channel: "EchoChannel")
    ws.send_text(JSON.generate(command: "subscribe", identifier: identifier))
    expect(cable.call).to eq("identifier" => identifier, "type" => "confirm_subscription")
    ws.send_text(JSON.generate(command: "message", identifier: identifier,
                               data: JSON.generate(action: "speak", text: "hello cable")))
    expect(cable.call).to eq("identifier" => identifier, "message" => { "text" => "hello cable" })
    ws.close(1000)
    expect(ws.read_close.type).to eq(:close)
  ensure
    ws&.close_socket
  end

  it "stops gracefully on INT" do
    server.signal("INT")
    expect(server.wait(30)).not_to be_nil
    expect(server.output).to include("INT received, stopping gracefully", "Exiting")
  end
end
