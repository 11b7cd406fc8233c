@testable import CIBImport

/// Hand-written CIB fragments for the tests (not taken from Pacemaker's test data).
enum CIBFixtures {
  /// A whole CIB around the given sections.
  static func cib(
    rootAttributes: String = #"have-quorum="1" dc-uuid="1""#, properties: String = "", nodes: String? = nil,
    resources: String = "", constraints: String = "", extra: String = "", status: String = ""
  ) -> String {
    """
    <cib validate-with="pacemaker-3.7" epoch="7" num_updates="3" admin_epoch="1" \(rootAttributes)>
      <configuration>
        <crm_config>
          <cluster_property_set id="cib-bootstrap-options">
            \(properties)
          </cluster_property_set>
        </crm_config>
        <nodes>
          \(nodes ?? #"<node id="1" uname="n1"/><node id="2" uname="n2"/>"#)
        </nodes>
        <resources>\(resources)</resources>
        <constraints>\(constraints)</constraints>
        \(extra)
      </configuration>
      <status>\(status)</status>
    </cib>
    """
  }

  /// A `node_state` for a node that is up and joined, with the given history and attributes.
  static func nodeState(
    id: String, uname: String, attributes: String = "", lrm: String = "",
    membership: String = #"in_ccm="true" crmd="online" join="member" expected="member""#
  ) -> String {
    """
    <node_state id="\(id)" uname="\(uname)" \(membership)>
      <transient_attributes id="\(id)">
        <instance_attributes id="status-\(id)">\(attributes)</instance_attributes>
      </transient_attributes>
      <lrm id="\(id)"><lrm_resources>\(lrm)</lrm_resources></lrm>
    </node_state>
    """
  }

  /// One `lrm_rsc_op`. `expected` is the rc the DC wanted (in the transition key).
  static func op(
    _ rsc: String, _ task: String, interval: Int = 0, call: Int, rc: Int = 0, expected: Int = 0,
    status: Int = 0,
    changed: Int = 1_000, id: String? = nil
  ) -> String {
    let key = "\(rsc)_\(task)_\(interval)"
    return """
      <lrm_rsc_op id="\(id ?? key)" operation_key="\(key)" operation="\(task)" interval="\(interval)" \
      call-id="\(call)" rc-code="\(rc)" op-status="\(status)" last-rc-change="\(changed)" \
      transition-key="3:10:\(expected):0b8e4c4a-0000-4000-8000-000000000001" \
      transition-magic="\(status):\(rc);3:10:\(expected):0b8e4c4a-0000-4000-8000-000000000001"/>
      """
  }

  static func history(_ rsc: String, _ ops: [String], type: String = "Dummy") -> String {
    #"<lrm_resource id="\#(rsc)" class="ocf" provider="pacemaker" type="\#(type)">"# + ops.joined()
      + "</lrm_resource>"
  }

  static func primitive(_ id: String, meta: String = "", ops: String = "", type: String = "Dummy") -> String {
    """
    <primitive id="\(id)" class="ocf" provider="pacemaker" type="\(type)">
      <meta_attributes id="\(id)-meta">\(meta)</meta_attributes>
      <operations>\(ops)</operations>
    </primitive>
    """
  }
}
