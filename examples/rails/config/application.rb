# frozen_string_literal: true

# A whole Rails app in one file, for Rails 6.1 (on rack 2.2) or 7.2 (on rack 3.1): `bin/rails
# server -u piston` (or `rails server -u piston`) serves a page, JSON, a live clock over WebSocket
# or SSE through env["rack.upgrade"], and an ActionCable channel at /cable (on Piston's WebSocket
# core, like every rack.upgrade connection).

require "rails"
require "action_controller/railtie"
require "action_cable/engine"
require "logger"

class PistonRailsDemo < Rails::Application
  config.load_defaults Rails::VERSION::STRING.to_f # the defaults of the Rails that runs it: 6.1 or 7.2
  config.root = File.expand_path("..", __dir__)
  config.eager_load = false
  config.consider_all_requests_local = true
  config.secret_key_base = ENV.fetch("SECRET_KEY_BASE", "piston-demo-only-" * 4)
  config.hosts.clear # any Host header: this is a demo
  config.logger = Logger.new($stdout)
  config.log_level = :info
  # ActionCable: the adapter comes from config/cable.yml (async: in-process); the server mounts at
  # /cable and accepts WebSockets whose Origin is this host (allow_same_origin_as_host).
  config.action_cable.mount_path = "/cable"

  routes.append do
    root "pages#home"
    get "/status", to: "pages#status"
    get "/clock", to: "live#clock"
  end
end

# Pages: HTML rendered inline (no view files) and JSON. ActionController::API keeps Action View
# (and with it Nokogiri, which Debian ships for MRI only) out of the way.
class PagesController < ActionController::API
  def home
    render html: <<~HTML.html_safe
      <!doctype html>
      <title>Piston on Rails</title>
      <h1>Rails #{Rails.version} on Piston #{Piston::VERSION}</h1>
      <p>JSON: <a href="/status">/status</a>. Live clock: <span id="clock">...</span></p>
      <script>
        const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/clock");
        ws.onmessage = (e) => { document.getElementById("clock").textContent = e.data; };
      </script>
    HTML
  end

  def status
    render json: { rails: Rails.version, ruby: RUBY_VERSION, jruby: JRUBY_VERSION, server: "piston",
                   software: request.env["SERVER_SOFTWARE"], time: Time.now.utc.iso8601 }
  end
end

# rack.upgrade from a controller: hand the connection to a handler object and answer 200.
# Piston then sends the real response (101 for WebSocket, 200 text/event-stream for SSE).
class LiveController < ActionController::API
  # One per connection (a Class is instantiated for each): sends the time every second, and
  # echoes what a WebSocket client sends.
  class Clock
    def on_open(client)
      @timer = Thread.new do
        while client.open?
          client.write(Time.now.utc.iso8601)
          sleep 1
        end
      end
    end

    def on_message(client, data)
      client.write("echo: #{data}")
    end

    def on_close(_client)
      @timer&.kill
    end
  end

  def clock
    if request.env["rack.upgrade?"]
      request.env["rack.upgrade"] = Clock
      head :ok
    else
      render plain: "Ask for a WebSocket or for text/event-stream\n", status: :bad_request
    end
  end
end

# ActionCable: one connection class and one channel. A client subscribes with
# {"command":"subscribe","identifier":"{\"channel\":\"EchoChannel\"}"}; each "speak" it
# performs is broadcast to every subscriber as {"text": ...}.
module ApplicationCable
  class Connection < ActionCable::Connection::Base
  end

  class Channel < ActionCable::Channel::Base
  end
end

class EchoChannel < ApplicationCable::Channel
  def subscribed
    stream_from "echo"
  end

  def speak(data)
    ActionCable.server.broadcast("echo", { "text" => data["text"].to_s })
  end
end
