# A stand-in for node:20-bookworm-slim where no registry can be reached (docker/test.sh builds it
# then, never otherwise): debian:bookworm-slim plus this machine's Node.js, laid out as in the
# official image (/usr/local/bin/node, npm under /usr/local/lib/node_modules, headers under
# /usr/local/include/node, user node with uid 1000). The context is assembled by docker/test.sh.
FROM debian:bookworm-slim
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY include /usr/local/include/node
# The machine's CA bundle: where outbound TLS is intercepted, npm (build stage) must trust it.
COPY ca-certificates.crt /usr/local/share/tlim-standin-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/tlim-standin-ca.crt
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
