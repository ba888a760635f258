# Runs one scenario of a test folder's mp/ with its output on the firmware's
# stdout, for tests whose subject is what the product prints (xl's tables
# and console replay):  micropython -m printout module.function '<json args>'
import json
import sys

module, _, func = sys.argv[1].partition('.')
getattr(__import__(module), func)(*json.loads(sys.argv[2]))
