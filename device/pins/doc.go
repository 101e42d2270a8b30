// Package pins finds the GPIO lines the indicator and the button use, by
// name (such as GPIO17, as periph.io names them), with their polarity:
// an LED wired to 3.3 V through the pin is on when the pin is low
// ("active-low"), one wired to ground is on when it is high.
//
// Pins come from periph.io's registry after host.Init(), which loads the
// drivers of the board the program runs on (the /dev/gpiochip driver on a
// Raspberry Pi). Tests register fake pins (gpiotest) under the same names.
package pins
