# Hotline: the CTI server beside Asterisk. Built by docker-compose.yml; runs `hotline serve`.
FROM python:3.11-slim-bookworm

# ffmpeg (pydub transcodes recordings), sox and espeak-ng (IVR prompts).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg sox espeak-ng \
    && rm -rf /var/lib/apt/lists/*

# The same uid as the asterisk user of the Asterisk image (1000), so Hotline can read and
# expire the recordings Asterisk writes to the shared monitor spool.
RUN useradd --uid 1000 --user-group --home-dir /var/lib/hotline --create-home hotline

WORKDIR /opt/hotline
# The source stays here: the IVR menus (HOTLINE_AGI_MENUS_DIR) are read from /opt/hotline/ivr/menus.
COPY . .
RUN pip install --no-cache-dir . && rm -rf /opt/hotline/build

USER hotline
WORKDIR /var/lib/hotline
ENV PYTHONUNBUFFERED=1
# 8080: agent / supervisor pages and API; 4573: FastAGI (private network only).
EXPOSE 8080 4573
CMD ["hotline", "serve"]
