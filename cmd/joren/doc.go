// Command joren is the firmware of the Joren door camera and the tools
// around it, in one binary:
//
//   - the appliance: joren run (the service), joren demo (the appliance on a
//     synthesised door video, with an in-process broker), joren config;
//   - the article's workflow on photos: compare, embed, cluster (with the
//     t-SNE figure), evaluate;
//   - the live pipeline's tools: watch, sim;
//   - the identity store's: replay, staff, customers, forget, store;
//   - the indicator's and the events': indicator, events;
//   - models: fetch, build, verify, add-onnx.
//
// Each subcommand is one file, thin over the packages that do the work;
// main.go alone turns errors and signals into exit statuses.
package main
