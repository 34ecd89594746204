"""Configuration files for the backend and the three proxies (benchmarks/run and benchmarks/switch). Every proxy gets
the same worker count, keep-alive on both sides, no access log, and limits high enough for 10,000 client
connections."""

SMALL_BODY = "Hello World! from blue\n"
ONE_MIB = 1024 * 1024
HUNDRED_MIB = 100 * ONE_MIB
KEEPALIVE_TIMEOUT = "300s"
# The TLS 1.2 suites every proxy offers over HTTPS (Turnout's `ciphers: default`); TLS 1.3 keeps OpenSSL's suites.
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")


def backend_nginx(root, port):
    """The one backend: `/` a small body, `/1m` and `/100m` files (sendfile), `/upload` absorbs POST bodies.

    `/upload` must read the whole body before answering, or the proxies would relay an early answer instead of the
    upload. `return 200` does not do that: nginx answers at once and discards the body afterwards. Here `mirror` with
    `mirror_request_body on` reads the complete body (into memory: `client_body_buffer_size 2m`) in the precontent
    phase; the content phase then finds the POST aimed at a static file, which nginx refuses with 405, and
    `error_page 405 =200` turns that into the 200 answer. The mirror subrequest goes to an internal location that
    answers 204 and costs no I/O.
    """
    return f"""worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout {KEEPALIVE_TIMEOUT};
    client_body_temp_path {root}/body;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root}/www;
        location / {{
            default_type text/plain;
            return 200 "{SMALL_BODY.strip()}\\n";
        }}
        location = /1m {{ default_type application/octet-stream; }}
        location = /100m {{ default_type application/octet-stream; }}
        location = /upload {{
            client_max_body_size 2m;
            client_body_buffer_size 2m;
            mirror /_mirror_sink;
            mirror_request_body on;
            error_page 405 =200 /_uploaded;
        }}
        location = /_mirror_sink {{ internal; return 204; }}
        location = /_uploaded {{ internal; default_type text/plain; return 200 "uploaded\\n"; }}
    }}
}}
"""


def proxy_nginx(root, port, backend_port, workers, tls=None):
    """nginx as the proxy: upstream keep-alive pool, bodies streamed (no request buffering, no temp files); with
    `tls` (certificate and key files) it listens for HTTPS."""
    listen = f"listen 127.0.0.1:{port} backlog=4096{' ssl' if tls else ''};"
    if tls:
        listen += (f"\n        ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]};"
                   f"\n        ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_ciphers {TLS12_CIPHERS};"
                   "\n        ssl_session_tickets on;")
    return f"""worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout {KEEPALIVE_TIMEOUT};
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    upstream backend {{
        server 127.0.0.1:{backend_port};
        keepalive 64;
        keepalive_requests 10000000;
        keepalive_timeout {KEEPALIVE_TIMEOUT};
    }}
    server {{
        {listen}
        client_max_body_size 2m;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
"""


def host_rule_name(index):
    """The Host the `index`th host rule matches (the same for every proxy)."""
    return f"h{index}.example"


def haproxy(port, servers, workers, maxconn, splice=False, stats_socket=None, host_rules=0, tls_pem=None):
    """HAProxy in HTTP mode, server connections shared (`http-reuse always`), optionally `option splice-auto` and an
    admin stats socket. `servers`: (name, port, weight or None) of backend `be`'s servers. `host_rules`: that many
    `use_backend` rules on the Host (each to `be`) before the default backend, as Turnout's listener rules."""
    bind_tls = f" ssl crt {tls_pem} alpn http/1.1 ssl-min-ver TLSv1.2 ciphers {TLS12_CIPHERS}" if tls_pem else ""
    socket_line = f"    stats socket {stats_socket} mode 600 level admin expose-fd listeners\n" if stats_socket else ""
    rule_lines = "".join(f"    use_backend be if {{ hdr(host) -i {host_rule_name(index)} }}\n" for index in range(host_rules))
    splice_line = "    option splice-auto\n" if splice else ""
    server_lines = "".join(f"    server {name} 127.0.0.1:{server_port}{'' if weight is None else f' weight {weight}'}\n"
                           for name, server_port, weight in servers)
    return f"""global
    nbthread {workers}
    maxconn {maxconn}
{socket_line}
defaults
    mode http
    option http-keep-alive
    http-reuse always
{splice_line}    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive {KEEPALIVE_TIMEOUT}

frontend production
    bind 127.0.0.1:{port}{bind_tls}
{rule_lines}    default_backend be

backend be
{server_lines}"""


def turnout(state_dir, port, admin_port, groups, workers, count_5xx=True, host_rules=0, tls=None, access_log=None,
            etcd=None):
    """Turnout with listener `production` forwarding all traffic to the first of `groups` ({name: backend port}),
    one target per group; no health probes during measurements. `count_5xx=False`: a 5xx answer does not count
    towards a target's passive ejection (so that a group answering 500 keeps its traffic). `host_rules`: that many
    listener rules on the Host (each forwarding to the first group) before the listener's forward. `tls`:
    certificate and key files, for an HTTPS listener. `access_log`: a file the access log is written to, in JSON
    (none by default). `etcd`: (endpoints, prefix) of an etcd cluster whose state the instance shares with a fleet
    (`state: {store: etcd}`) instead of keeping it in `state_dir` alone."""
    first = next(iter(groups))
    rules = "".join(f"\n      - {{ name: r{index}, match: {{ host: {host_rule_name(index)} }}, forward: {{ {first}: 100 }} }}"
                    for index in range(host_rules))
    rules_line = f"\n    rules:{rules}" if host_rules else ""
    tls_line = f"\n    tls: {{ certificates: [{{ cert: {tls[0]}, key: {tls[1]} }}] }}" if tls else ""
    ejection = "" if count_5xx else "    passive_ejection: { count_5xx: false }\n"
    group_lines = "".join(f"""  {name}:
    targets: [127.0.0.1:{backend_port}]
    health_check: {{ enabled: false }}
{ejection}""" for name, backend_port in groups.items())
    access_log_lines = f"access_log: {{ path: {access_log}, format: json }}\n" if access_log else ""
    state_lines = f"state: {{ store: etcd, endpoints: [{', '.join(etcd[0])}], prefix: {etcd[1]} }}\n" if etcd else ""
    return f"""workers: {workers}
state_dir: {state_dir}
{state_lines}{access_log_lines}admin:
  bind: 127.0.0.1:{admin_port}
listeners:
  production:
    bind: 127.0.0.1:{port}
    forward: {{ {first}: 100 }}{rules_line}{tls_line}
target_groups:
{group_lines}timeouts:
  client_idle: {KEEPALIVE_TIMEOUT}
limits:
  max_connections: 30000
"""
