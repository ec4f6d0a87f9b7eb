/**
 * The Rack protocol in Java: the env of a request and the writing of the app's response
 * (headers, bodies, partial hijack). Worker threads (piston-rack-N).
 */
package io.piston.rack;
