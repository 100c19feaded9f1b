extension ObjectReading {
    /// Deployment, ReplicaSet, StatefulSet, DaemonSet (apps/v1), Job and CronJob (batch/v1).
    func workload(_ object: ManifestValue, kind: WorkloadManifest.Kind) throws(ManifestError) -> WorkloadManifest {
        let metadata = try self.metadata(object, kind: kind.rawValue, namespaced: true)
        let reference = ObjectReference(kind: kind.rawValue, namespace: metadata.namespace, name: metadata.name)
        let spec = try object.required("spec", in: "a \(kind.rawValue)")
        switch kind {
        case .deployment, .replicaSet, .statefulSet, .daemonSet:
            let selectorValue = try spec.required("selector", in: "an apps/v1 \(kind.rawValue)")
            let selector = try labelSelector(selectorValue)
            let template = try podTemplate(try spec.required("template", in: "a \(kind.rawValue)"), owner: reference)
            // apps/v1 validation (ValidateDeploymentSpec and its siblings): the selector must select the template.
            guard !selector.selectsEverything else {
                throw selectorValue.invalid("an empty selector is not allowed for a \(kind.rawValue)")
            }
            guard selector.matches(template.labels) else {
                throw selectorValue.invalid("selector \(selector) does not match the template's labels \(LabelSelector(matchLabels: template.labels))")
            }
            var replicas: Int?
            if kind != .daemonSet {
                replicas = try (try spec.field("replicas"))?.int(in: 0...Int(Int32.max)) ?? 1
            }
            let serviceName = kind == .statefulSet ? try (try spec.field("serviceName"))?.string() : nil
            return WorkloadManifest(kind: kind, metadata: metadata, replicas: replicas, selector: selector,
                                    template: template, serviceName: serviceName)
        case .job:
            return try job(spec, kind: kind, metadata: metadata, reference: reference, schedule: nil)
        case .cronJob:
            let schedule = try spec.required("schedule", in: "a CronJob").string()
            let jobTemplate = try spec.required("jobTemplate", in: "a CronJob")
            let jobSpec = try jobTemplate.required("spec", in: "a CronJob's jobTemplate")
            return try job(jobSpec, kind: kind, metadata: metadata, reference: reference, schedule: schedule)
        }
    }

    private func job(_ spec: ManifestValue, kind: WorkloadManifest.Kind, metadata: ObjectMetadata,
                     reference: ObjectReference, schedule: String?) throws(ManifestError) -> WorkloadManifest {
        let template = try podTemplate(try spec.required("template", in: "a Job"), owner: reference)
        var selector: LabelSelector?
        if let value = try spec.field("selector") {
            let read = try labelSelector(value)
            guard read.matches(template.labels) else {
                throw value.invalid("selector \(read) does not match the template's labels")
            }
            selector = read
        }
        let parallelism = try (try spec.field("parallelism"))?.int(in: 0...Int(Int32.max)) ?? 1
        let completions = try (try spec.field("completions"))?.int(in: 0...Int(Int32.max))
        return WorkloadManifest(kind: kind, metadata: metadata, replicas: parallelism, selector: selector,
                                template: template, schedule: schedule, completions: completions)
    }
}
