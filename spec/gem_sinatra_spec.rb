# frozen_string_literal: true

require "json"

# examples/sinatra started the way Sinatra users start an app (`jruby app.rb`, which runs
# Sinatra's `set :server, "piston"`), with Piston from the installed gem: Sinatra 3.0 on the
# Rack 2.2 run, Sinatra 4.1 (through rackup 2) on the Rack 3.1 run.
RSpec.describe "examples/sinatra on the piston gem", timeout: 120 do
  before(:all) do
    @server = PistonSpec::Cli.start(
      command: [*PistonSpec::GemInstall.jruby, File.join(PistonSpec::Cli::ROOT, "examples/sinatra/app.rb"),
                "-o", "127.0.0.1", "-p", "0"],
      env: PistonSpec::GemInstall.env, timeout: 90
    )
    @server.owner = self.class
  end

  let(:server) { @server }

  it "serves the page and JSON" do
    page = RawHttp.get(server.host, server.port, "/")
    expect(page.status).to eq(200)
    expect(page.body).to include("on Piston")
    info = JSON.parse(RawHttp.get(server.host, server.port, "/info.json").body)
    expect(info["sinatra"]).to start_with(Rack.release.start_with?("2.") ? "3." : "4.")
    expect(info["server"]).to start_with("Piston")
    server.wait_for_output(/with backup from Piston/, 10) # on stderr, after "Listening on" (stdout)
    expect(server.output).to include("with backup from Piston", "Transport: #{PistonSpec::TRANSPORT}")
  end

  it "streams Server-Sent Events through rack.upgrade" do
    RawHttp.open(server.host, server.port, timeout: 10) do |http|
      # Sinatra 4.1's host authorization lets localhost and IP addresses through in development.
      http.request("GET /events?count=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
      head = http.read_head
      expect(head.status).to eq(200)
      expect(head["content-type"]).to start_with("text/event-stream")
      text = +""
      text << (http.read_partial || break) until text.include?("data: tick 3")
      expect(text).to include("data: tick 1\n\n", "data: tick 2\n\n", "data: tick 3\n\n")
    end
  end

  it "talks WebSocket through rack.upgrade" do
    ws = RawWebSocket.connect(server.host, server.port, "/echo")
    expect(ws.read_message.first).to eq("hello from Piston")
    ws.send_text("shout")
    expect(ws.read_message.first).to eq("SHOUT")
    ws.close(1000)
  ensure
    ws&.close_socket
  end

  it "stops gracefully on TERM" do
    server.signal("TERM")
    status = server.wait(30)
    expect(status).not_to be_nil
    expect(server.output).to include("TERM received, stopping gracefully")
  end
end
