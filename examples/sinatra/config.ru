# frozen_string_literal: true

# rackup -s piston config.ru   (rack 2.2 or rack 3 with rackup 2)
require_relative "app"
run Sinatra::Application
