"""The web service's routes by area, each an APIRouter that create_app includes in order:

- start.py      console pages that start incidents: /incidents/new, /grade/preview, /drills
                (before incidents.py: "/incidents/new" is not an incident id)
- auth.py       /login (password and OIDC) and /logout
- board.py      the board: / and /board/live
- incidents.py  one incident's pages, documents and action forms
- api.py        the JSON API under /api (in /openapi.json)
- intake.py     the 12369/119 intake app answering /alerts, merged into /openapi.json
"""
