import Testing
@testable import VeilMail

@Suite struct AddressListTests {
    @Test func splitsOnlyOnTopLevelCommas() {
        let list = AddressList.parse(#""Last, First" <a@x.example>, b@y.example (Bee, Queen), <c@z.example>"#)
        #expect(list == [
            MailboxAddress(name: "Last, First", address: "a@x.example"),
            MailboxAddress(name: "Bee, Queen", address: "b@y.example"),
            MailboxAddress(name: nil, address: "c@z.example"),
        ])
    }

    @Test func decodesNamesAfterSplitting() {
        // An encoded comma inside a name must not split the entry.
        let list = AddressList.parse("=?utf-8?q?Nh=C6=A1n=2C_Nguy=E1=BB=85n?= <n@x.example>, d@y.example")
        #expect(list.map(\.name) == ["Nhơn, Nguyễn", nil])
        #expect(list.map(\.address) == ["n@x.example", "d@y.example"])
    }

    @Test func groupsAndEscapes() {
        #expect(AddressList.parse("undisclosed-recipients:;").isEmpty)
        #expect(AddressList.parse("team: a@x.example, b@x.example;").map(\.address) == ["a@x.example", "b@x.example"])
        #expect(AddressList.parse(#""Say \"hi\"" <q@x.example>"#).first?.name == #"Say "hi""#)
        #expect(AddressList.parse("").isEmpty)
        #expect(AddressList.parse("   ,  ,").isEmpty)
    }
}
