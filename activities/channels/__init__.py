"""The channels a page goes out on, each speaking its provider's protocol: e-mail over SMTP
(email.py), the DingTalk custom robot and the WeCom group robot (robots.py), Alibaba Cloud SMS
(sms.py). dispatch.send() picks one; each raises Retry (the provider may take it later: the activity
retries with backoff) or Hopeless (it never will: the page falls back to the next channel).

Secrets (the SMTP password, the robots' webhook tokens and signing secret, the SMS AccessKey
secret) are read from the settings when a message is sent and never put in an error, a log line
or a return value: errors name the provider's host and its answer only.
"""
