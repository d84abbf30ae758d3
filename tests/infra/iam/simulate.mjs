// The IAM evaluator of tests/infra (test_iam_calls.py, test_build_permissions.py): AWS's policy evaluation logic,
// Resource and Condition included, from @cloud-copilot/iam-simulate (pinned in package.json / package-lock.json).
//
// One request per line on stdin, one answer per line on stdout, so a test session starts node once:
//   {"policies": [<policy document>, ...], "principal": "<role ARN>", "action": "ec2:CreateTags",
//    "resource": "arn:aws:ec2:...:key-pair/packer_1", "account": "123456789012", "context": {"ec2:CreateAction": "CreateKeyPair"},
//    "resourcePolicy": <the resource's own policy, e.g. a KMS key policy, or null>}
//   -> {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error", "errors": <validation errors or null>}
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let answer
  try {
    const request = JSON.parse(line)
    const simulation = {
      identityPolicies: request.policies.map((policy, i) => ({ name: `policy-${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy || undefined,
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.account },
        contextVariables: request.context || {}
      }
    }
    const response = await runSimulation(simulation, {})
    answer = response.resultType === 'error'
      ? { result: 'Error', errors: response.errors }
      : { result: response.overallResult, errors: null }
  } catch (error) {
    answer = { result: 'Error', errors: String(error && error.stack || error) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
