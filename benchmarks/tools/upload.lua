-- wrk script: every request is a POST of a 1 MiB body (Content-Length is set by wrk from the body).
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
