/// Where the topology drawing puts each node, router and switch: a layered layout computed from the graph
/// alone, with no randomness, so the same report always gives the same picture.
///
/// Nodes sit in the bottom band, grouped by the router or switch they hang off (a rack under its
/// top-of-rack switch), each group a block of at most five columns; routers and switches sit in rows
/// above, one row per hop from the nodes, each over the middle of what it connects to below. A full mesh
/// (a scenario without links) is drawn as one "underlay" hub above the nodes instead of n² lines.
struct TopologyLayout {
    struct Box {
        var x: Double, y: Double, width: Double, height: Double
        var centreX: Double { x + width / 2 }
        var centreY: Double { y + height / 2 }
    }
    /// A group of nodes under one device, with the rectangle drawn behind them.
    struct Group {
        var label: String
        var nodes: [Int]
        var frame: Box
    }

    static let nodeWidth = 180.0, cellWidth = 205.0, deviceWidth = 120.0, deviceHeight = 34.0
    static let rowGap = 34.0, levelGap = 96.0, margin = 24.0, lineHeight = 14.0
    /// Workload lines a node box shows before "+N more".
    static let workloadLines = 5

    private(set) var boxes: [Int: Box] = [:]
    private(set) var groups: [Group] = []
    /// The full mesh's hub, when there is one.
    private(set) var hub: Box?
    private(set) var width = 0.0, height = 0.0

    /// - Parameters:
    ///   - graph: the report's underlay.
    ///   - workloadCounts: per node vertex, how many workload lines its box lists.
    init(graph: ReportGraph, workloadCounts: [Int: Int]) {
        let nodes = graph.nodes, devices = graph.devices
        // Hops from the nearest node, for every router and switch.
        var level = [Int](repeating: -1, count: graph.vertices.count)
        var queue = nodes, head = 0
        for node in nodes { level[node] = 0 }
        while head < queue.count {
            let current = queue[head]
            head += 1
            for next in graph.neighbours[current] where level[next] < 0 {
                level[next] = level[current] + 1
                queue.append(next)
            }
        }
        for device in devices where level[device] < 0 { level[device] = 1 }
        let topLevel = graph.fullMesh ? 1 : (devices.map { level[$0] }.max() ?? 0)

        // Nodes grouped by their first device one hop up, groups in the order of those devices.
        var groupOf: [Int: Int] = [:]
        var groupOrder: [Int] = []
        for node in nodes {
            let parent = graph.neighbours[node].filter { graph.vertices[$0].role != .node }.min() ?? -1
            if groupOf[parent] == nil { groupOf[parent] = groupOrder.count; groupOrder.append(parent) }
        }
        var members = [[Int]](repeating: [], count: groupOrder.count)
        for node in nodes {
            let parent = graph.neighbours[node].filter { graph.vertices[$0].role != .node }.min() ?? -1
            members[groupOf[parent] ?? 0].append(node)
        }
        let nodeHeight = { (node: Int) -> Double in
            let lines = min(workloadCounts[node] ?? 0, Self.workloadLines + 1)
            return 46 + Double(lines) * Self.lineHeight
        }

        // The node band: blocks placed left to right, wrapping after twelve columns.
        let nodesTop = Self.margin + Double(topLevel) * Self.levelGap + (topLevel > 0 ? 20 : 0)
        let columnsPerBlock = members.count > 1 ? 5 : 10
        var blockX = Self.margin, blockY = nodesTop, bandRowHeight = 0.0, usedColumns = 0
        var right = Self.margin
        for (groupIndex, group) in members.enumerated() where !group.isEmpty {
            let columns = min(group.count, columnsPerBlock)
            if usedColumns > 0, usedColumns + columns > 12 {
                blockX = Self.margin
                blockY += bandRowHeight + Self.rowGap
                bandRowHeight = 0
                usedColumns = 0
            }
            var y = blockY + 30, rowHeight = 0.0, blockHeight = 30.0
            for (position, node) in group.enumerated() {
                let column = position % columns
                if column == 0, position > 0 {
                    y += rowHeight + Self.rowGap
                    blockHeight += rowHeight + Self.rowGap
                    rowHeight = 0
                }
                let height = nodeHeight(node)
                boxes[node] = Box(x: blockX + 10 + Double(column) * Self.cellWidth, y: y, width: Self.nodeWidth, height: height)
                rowHeight = max(rowHeight, height)
            }
            blockHeight += rowHeight + 10
            let blockWidth = Double(columns) * Self.cellWidth - (Self.cellWidth - Self.nodeWidth) + 20
            let parent = groupOrder[groupIndex]
            let label = parent >= 0 ? "under \(graph.vertices[parent].name)" : (graph.fullMesh ? "flat L3 underlay" : "nodes")
            groups.append(Group(label: "\(label) (\(group.count) node\(group.count == 1 ? "" : "s"))", nodes: group,
                                frame: Box(x: blockX, y: blockY, width: blockWidth, height: blockHeight)))
            right = max(right, blockX + blockWidth)
            blockX += blockWidth + Self.rowGap
            usedColumns += columns
            bandRowHeight = max(bandRowHeight, blockHeight)
        }
        var bottom = blockY + bandRowHeight

        // Routers and switches, lowest level first, each over the mean of what it links to below.
        if graph.fullMesh {
            let centre = (Self.margin + right) / 2
            hub = Box(x: centre - 90, y: Self.margin, width: 180, height: Self.deviceHeight)
        }
        for currentLevel in stride(from: 1, through: max(topLevel, 1), by: 1) {
            let row = devices.filter { level[$0] == currentLevel }
            guard !row.isEmpty else { continue }
            let y = Self.margin + Double(topLevel - currentLevel) * Self.levelGap
            var wanted: [(device: Int, x: Double)] = []
            for (position, device) in row.enumerated() {
                let below = graph.neighbours[device].compactMap { boxes[$0] }
                let x = below.isEmpty ? Self.margin + Double(position) * (Self.deviceWidth + 30) + Self.deviceWidth / 2
                    : below.map(\.centreX).reduce(0, +) / Double(below.count)
                wanted.append((device, x))
            }
            wanted.sort { ($0.x, $0.device) < ($1.x, $1.device) }
            var nextFree = Self.margin
            for entry in wanted {
                let x = max(entry.x - Self.deviceWidth / 2, nextFree)
                boxes[entry.device] = Box(x: x, y: y, width: Self.deviceWidth, height: Self.deviceHeight)
                nextFree = x + Self.deviceWidth + 30
                right = max(right, x + Self.deviceWidth)
                bottom = max(bottom, y + Self.deviceHeight)
            }
        }
        width = right + Self.margin
        height = bottom + Self.margin
    }
}
