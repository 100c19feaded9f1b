import Kubernetes
import Testing

@Suite("Label selectors")
struct LabelSelectorTests {
    let labels = ["app": "web", "tier": "front", "canary": ""]

    @Test("the empty selector selects everything, labels or none")
    func empty() {
        #expect(LabelSelector.everything.matches(labels))
        #expect(LabelSelector.everything.matches([:]))
        #expect(LabelSelector.everything.description == "{}")
    }

    @Test("matchLabels: every pair must be present with its value")
    func matchLabels() {
        #expect(LabelSelector(matchLabels: ["app": "web"]).matches(labels))
        #expect(LabelSelector(matchLabels: ["app": "web", "tier": "front"]).matches(labels))
        #expect(!LabelSelector(matchLabels: ["app": "web", "tier": "back"]).matches(labels))
        #expect(!LabelSelector(matchLabels: ["zone": "a"]).matches(labels))
        #expect(LabelSelector(matchLabels: ["canary": ""]).matches(labels), "an empty value is a value")
    }

    @Test("In, NotIn, Exists, DoesNotExist as apimachinery's labels.Requirement decides them", arguments: [
        (LabelRequirement(key: "app", operator: .in, values: ["web", "api"]), true),
        (LabelRequirement(key: "app", operator: .in, values: ["api"]), false),
        (LabelRequirement(key: "zone", operator: .in, values: ["a"]), false),
        (LabelRequirement(key: "app", operator: .notIn, values: ["api"]), true),
        (LabelRequirement(key: "app", operator: .notIn, values: ["web"]), false),
        (LabelRequirement(key: "zone", operator: .notIn, values: ["a"]), true),
        (LabelRequirement(key: "canary", operator: .exists), true),
        (LabelRequirement(key: "zone", operator: .exists), false),
        (LabelRequirement(key: "zone", operator: .doesNotExist), true),
        (LabelRequirement(key: "canary", operator: .doesNotExist), false),
    ])
    func requirement(requirement: LabelRequirement, expected: Bool) {
        #expect(requirement.matches(labels) == expected)
        #expect(LabelSelector(matchExpressions: [requirement]).matches(labels) == expected)
    }

    @Test("printed as kubectl -l takes it")
    func description() {
        let selector = LabelSelector(matchLabels: ["tier": "front", "app": "web"], matchExpressions: [
            LabelRequirement(key: "env", operator: .notIn, values: ["prod", "dev"]),
            LabelRequirement(key: "canary", operator: .doesNotExist),
            LabelRequirement(key: "zone", operator: .exists),
        ])
        #expect(selector.description == "app=web,tier=front,env notin (dev,prod),!canary,zone")
    }
}
