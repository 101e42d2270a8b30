// Package button reads an optional push button on a GPIO line, debounced,
// and runs an action for each press. The action is the caller's (the
// appliance's is "forget the last visitor", for the customer at the
// counter who asks not to be remembered): the button knows presses, not
// visitors.
//
// A mechanical contact bounces for a few milliseconds on press and
// release; a level counts only once the line has been quiet for the
// debounce time. A press can be required to be held for a while, so that
// brushing against the button does not delete anything.
package button
