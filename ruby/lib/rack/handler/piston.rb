# frozen_string_literal: true

require "piston/rack_handler"

# rack 2.2: `rackup -s piston`, `RACK_HANDLER=piston rackup`, `rails server -u piston` (Rails 6.1)
# and Sinatra 3's `set :server, "piston"` load this file through Rack::Handler.get("piston").
module Rack
  module Handler
    class Piston
      extend ::Piston::RackHandler
    end

    register "piston", "Rack::Handler::Piston" if respond_to?(:register) && !defined?(::Rackup::Handler)
  end
end

# With rackup 2 loaded (rack 3), its fallback to rack/handler/NAME only counts if registered there.
require "rackup/handler/piston" if defined?(::Rackup::Handler)
