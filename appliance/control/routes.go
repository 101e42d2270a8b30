package control

// The routes of the control socket, one per operation. Reads are GET;
// changes are POST with a JSON body. Version 1: a route changes meaning
// only under a new prefix.
const (
	routeInfo           = "/v1/info"
	routeStats          = "/v1/store/stats"
	routeExport         = "/v1/store/export"
	routeCheck          = "/v1/store/check"
	routeMaintain       = "/v1/store/maintain"
	routeStaff          = "/v1/staff"
	routeStaffAdd       = "/v1/staff/add"
	routeStaffRemove    = "/v1/staff/remove"
	routeCustomers      = "/v1/customers"
	routeCustomerAdd    = "/v1/customers/add"
	routeCustomerRemove = "/v1/customers/remove"
	routeMode           = "/v1/mode"
	routeSetMode        = "/v1/mode/set"
	routeMatch          = "/v1/match"
	routeForget         = "/v1/forget"
	routeForgetFace     = "/v1/forget/face"
)

// name is the body of a request naming a person.
type name struct {
	Name string `json:"name"`
}

// visitor is the body of a request naming a visitor.
type visitor struct {
	Visitor string `json:"visitor"`
}

// export is the body of an export request.
type export struct {
	WithDescriptors bool `json:"with_descriptors"`
}

// maintain is the body of a maintenance request.
type maintain struct {
	TrustClock bool `json:"trust_clock"`
}

// failure is the body of every refusal or failure.
type failure struct {
	Error string `json:"error"`
	Kind  Kind   `json:"kind"`
}

// maxBody bounds a request's body: an enrolment of a few dozen faces is
// tens of kilobytes.
const maxBody = 4 << 20
